"""TLS (finding on transport): ``python -m central serve --certfile/--keyfile`` answers in
https; the desk verifies the certificate (a private authority can be given) and refuses plain
http to a central that is not this machine unless told otherwise. Certificates are made in the
test with the ``openssl`` command."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from app.sync.client import CentralClient, CentralError
from app.sync.endpoint import Endpoint, NoCentral, check_url, configured_endpoint
from tests.security.served import central_cli, served

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="the openssl command makes the test certificates")


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def _authority(folder: Path, name: str) -> tuple[Path, Path]:
    _openssl(folder, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key", "-out",
             f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return folder / f"{name}.pem", folder / f"{name}.key"


def _server_certificate(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    _openssl(folder, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl(folder, "x509", "-req", "-in", "server.csr", "-CA", str(ca[0]), "-CAkey",
             str(ca[1]), "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile",
             "server.ext")
    return folder / "server.pem", folder / "server.key"


def test_central_serves_https_and_the_desk_verifies_its_certificate(tmp_path: Path) -> None:
    ca = _authority(tmp_path, "autorite")
    stranger = _authority(tmp_path, "autre")
    cert, key = _server_certificate(tmp_path, ca)
    trusted = ssl.create_default_context(cafile=str(ca[0]))
    with served(tmp_path / "central", "--certfile", str(cert), "--keyfile", str(key),
                scheme="https", verify=trusted) as server:
        with pytest.raises(httpx.HTTPError):  # plain http to the TLS port gets nothing
            httpx.get(server.url.replace("https", "http") + "/health", timeout=5)
        good = Endpoint(server.url, server.credential, "101", ca[0])
        with CentralClient(good, attempts=1) as client:
            assert client.state()["last_batch"] == 0
        for ca_file in (None, stranger[0]):  # the system's authorities, another authority
            endpoint = Endpoint(server.url, server.credential, "101", ca_file)
            with CentralClient(endpoint, attempts=3, sleep=lambda _s: None) as client:
                with pytest.raises(CentralError) as refused:
                    client.state()
                assert "Certificat du serveur central refusé" in refused.value.message
                assert client.retries == 0, "a bad certificate is not retried"


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path) -> None:
    ca = _authority(tmp_path, "autorite")
    cert, _key = _server_certificate(tmp_path, ca)
    done = central_cli(tmp_path / "central", "serve", "--port", "1", "--certfile", str(cert))
    assert done.returncode == 1 and "--keyfile" in done.stderr
    done = central_cli(tmp_path / "central", "serve", "--port", "1", "--certfile", str(cert),
                       "--keyfile", str(tmp_path / "absent.key"))
    assert done.returncode == 1 and "illisible" in done.stderr


def test_plain_http_only_to_this_machine_unless_allowed(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8470", "http://localhost:8470", "http://[::1]:8470",
                "https://central.example", "https://10.0.0.5:8443"):
        check_url(url)
    for url in ("http://central.example", "http://10.0.0.5:8470", "ftp://central.example",
                "central.example"):
        with pytest.raises(NoCentral):
            check_url(url)
    check_url("http://10.0.0.5:8470", allow_http=True)
    settings = Settings(data_dir=tmp_path, central_url="http://central.example",
                        central_credential="gc1.101.x", demo_customers=0)
    with pytest.raises(NoCentral) as refused:
        configured_endpoint(settings)
    assert "https://" in refused.value.message
    allowed = Settings(data_dir=tmp_path, central_url="http://central.example",
                       central_credential="gc1.101.x", central_allow_http=True,
                       central_ca_file=tmp_path / "ca.pem", demo_customers=0)
    endpoint = configured_endpoint(allowed)
    assert endpoint is not None and endpoint.ca_file == tmp_path / "ca.pem"


def test_the_ca_file_and_http_settings_have_env_variables_and_flags(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import _parser, load_settings

    monkeypatch.setenv("GUICHET_CENTRAL_CA_FILE", str(tmp_path / "env.pem"))
    monkeypatch.setenv("GUICHET_CENTRAL_ALLOW_HTTP", "true")
    from_env = load_settings(_parser().parse_args([]))
    assert from_env.central_ca_file == tmp_path / "env.pem" and from_env.central_allow_http
    flags = load_settings(_parser().parse_args(["--central-ca-file", str(tmp_path / "f.pem")]))
    assert flags.central_ca_file == tmp_path / "f.pem"
    monkeypatch.delenv("GUICHET_CENTRAL_ALLOW_HTTP")
    assert load_settings(_parser().parse_args(["--central-allow-http"])).central_allow_http
    assert not load_settings(_parser().parse_args([])).central_allow_http
