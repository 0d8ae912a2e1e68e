@echo off
rem Guichet launcher for Windows agency desktops:
rem   guichet            starts the program
rem   guichet test       runs the whole test suite
setlocal
cd /d "%~dp0"
if not exist .venv\Scripts\python.exe (
    echo Creation de l'environnement Python dans .venv...
    py -3 -m venv .venv || python -m venv .venv || exit /b 1
)
for /f %%h in ('powershell -NoProfile -Command "(Get-FileHash pyproject.toml -Algorithm SHA256).Hash.Substring(0,16)"') do set STAMP=.venv\.installed-%%h
if not exist %STAMP% (
    echo Installation de Guichet et de ses dependances...
    .venv\Scripts\python -m pip install --quiet --disable-pip-version-check -e .[test] || exit /b 1
    del /q .venv\.installed-* 2>nul
    type nul > %STAMP%
)
if /i "%~1"=="test" (
    shift
    .venv\Scripts\python -m pytest %2 %3 %4 %5 %6 %7 %8 %9
    exit /b %errorlevel%
)
.venv\Scripts\python -m app %*
exit /b %errorlevel%
