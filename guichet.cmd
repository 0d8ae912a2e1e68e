@echo off
rem Guichet launcher for Windows agency desktops:
rem   guichet            starts the program
rem   guichet test       runs the whole test suite
setlocal
cd /d "%~dp0"
set GUICHET_LAUNCHER=guichet.cmd
if exist .venv\Scripts\python.exe goto venv_ready
rem Python first: an older one makes pip search for a quarter of an hour before it fails.
set PY=py -3
py -3 -c "import sys" 2>nul || set PY=python
%PY% -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>nul || goto old_python
echo Creation de l'environnement Python dans .venv...
%PY% -m venv .venv || exit /b 1
:venv_ready
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

:old_python
echo Guichet demande Python 3.11 ou plus recent : installez-le depuis python.org (avec le lanceur py).
exit /b 1
