"""TLS (OpenSSL) on both ports: grpcio over ssl_channel_credentials, h2load over TLS, cleartext HTTP/2 to
the TLS port refused cleanly, ALPN, mutual TLS, HTTPS on the admin port.

Certificates come from the `openssl` command (Debian's openssl package; scripts/setup.sh): a throw-away CA,
a server certificate for 127.0.0.1/localhost signed by it, and a client certificate for mutual TLS.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import grpc
import pytest

import support
from support import fraud_row, frame, small_payment, txid

SCORE = "/fraud.v1.FraudScoring/Score"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate (SAN 127.0.0.1, localhost) and a client certificate, all signed by the CA."""
    assert shutil.which("openssl"), "openssl not found (Debian package openssl; scripts/setup.sh)"
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=fraud test CA",
            cwd=d)
    for name, ext in (("server", "subjectAltName=DNS:localhost,IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=fraud {name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


def start_tls_server(tmp_path, pki, *extra, credentials):
    admin_port = support.free_port()
    args = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
            "--admin-port", str(admin_port), *extra]
    server = support.ServerProcess(str(tmp_path / "fraud-server.log"), args=args, credentials=credentials)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    server.admin_port = admin_port
    return server


def root_credentials(pki, client=False):
    ca = (pki / "ca.pem").read_bytes()
    if not client:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=(pki / "client.key").read_bytes(),
                                        certificate_chain=(pki / "client.pem").read_bytes())


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, pki):
    server = start_tls_server(tmp_path_factory.mktemp("tls"), pki, credentials=root_credentials(pki))
    yield server
    assert server.stop() == 0, support.tail(server.log_path)


def test_grpcio_over_tls_scores(tls_server, pki):
    with grpc.secure_channel(tls_server.target, root_credentials(pki)) as ch:
        reply = support.stub(ch).Score(small_payment(txid("tls-1")), timeout=10)
        assert reply.transaction_id == txid("tls-1")
        fraud = support.stub(ch).Score(fraud_row(txid("tls-fraud")), timeout=10)
        assert fraud.decision != reply.decision  # a real engine answered both


def test_cleartext_http2_to_tls_port_fails_cleanly(tls_server, pki):
    with grpc.insecure_channel(tls_server.target) as ch:
        with pytest.raises(grpc.RpcError) as info:
            support.stub(ch).Score(small_payment(txid("tls-plain")), timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    # ... and the server still serves TLS clients.
    with grpc.secure_channel(tls_server.target, root_credentials(pki)) as ch:
        assert support.stub(ch).Score(small_payment(txid("tls-after-plain")), timeout=10).transaction_id


def test_alpn_without_h2_is_refused(tls_server, pki):
    host, port = support.parse_target(tls_server.target)
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.set_alpn_protocols(["http/1.1"])

    with socket.create_connection((host, port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as info:
            context.wrap_socket(raw, server_hostname="localhost")
    assert "NO APPLICATION PROTOCOL" in str(info.value).upper().replace("_", " ")


def test_h2load_over_tls(tls_server, pki, tmp_path):
    h2load = shutil.which("h2load")
    assert h2load, "h2load not found (apt package nghttp2-client; scripts/setup.sh)"
    host, port = support.parse_target(tls_server.target)
    body = tmp_path / "req.grpc"
    body.write_bytes(frame(fraud_row(txid("tls-h2load"))))
    out = subprocess.run([h2load, "-n", "500", "-c", "2", "-m", "10", "-H", "content-type: application/grpc",
                          "-H", "te: trailers", "-d", str(body), f"https://{host}:{port}{SCORE}"],
                         capture_output=True, text=True, errors="replace", timeout=120).stdout
    assert re.search(r"Application protocol: h2", out), out
    assert re.search(r"requests: 500 total, 500 started, 500 done, 500 succeeded", out), out
    assert re.search(r"status codes: 500 2xx", out), out


def test_admin_port_speaks_https(tls_server, pki):
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", tls_server.admin_port, context=context, timeout=10)
    conn.request("GET", "/health")
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status == 200, body
    assert b'"model_version"' in body
    assert conn.sock.selected_alpn_protocol() in (None, "http/1.1")
    conn.close()
    # Cleartext HTTP to the HTTPS port gets no HTTP answer.
    plain = http.client.HTTPConnection("127.0.0.1", tls_server.admin_port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        plain.request("GET", "/health")
        plain.getresponse().read()


def test_mutual_tls_requires_a_client_certificate(tmp_path, pki):
    server = start_tls_server(tmp_path, pki, "--tls-client-ca", str(pki / "ca.pem"),
                              credentials=root_credentials(pki, client=True))
    try:
        with grpc.secure_channel(server.target, root_credentials(pki, client=False)) as ch:
            with pytest.raises(grpc.RpcError) as info:
                support.stub(ch).Score(small_payment(txid("mtls-anon")), timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        with grpc.secure_channel(server.target, root_credentials(pki, client=True)) as ch:
            assert support.stub(ch).Score(small_payment(txid("mtls-ok")), timeout=10).transaction_id == txid("mtls-ok")
    finally:
        assert server.stop() == 0, support.tail(server.log_path)


def test_fragmented_records_and_many_calls_per_record(tls_server, pki):
    """TLS records split over many TCP segments (a few bytes per send) and many calls in one TLS record both
    work: the server's BIO lends each read to OpenSSL, which must keep partial records across reads."""
    import h2.config
    import h2.connection
    import h2.events

    host, port = support.parse_target(tls_server.target)
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.set_alpn_protocols(["h2"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def send_pending(piece):
            data = outgoing.read()
            for start in range(0, len(data), piece):
                raw.sendall(data[start:start + piece])

        def receive():
            chunk = raw.recv(65536)
            assert chunk, "server closed the connection"
            incoming.write(chunk)

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                send_pending(7)
                receive()
        send_pending(7)
        assert tls.selected_alpn_protocol() == "h2"
        assert (tls.version(), tls.cipher()[0]) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")  # the server decides

        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        headers = [(":method", "POST"), (":scheme", "https"), (":path", SCORE), (":authority", f"{host}:{port}"),
                   ("content-type", "application/grpc"), ("te", "trailers")]
        calls = {}
        for index in range(40):
            sid = conn.get_next_available_stream_id()
            calls[sid] = txid(f"tls-frag-{index}")
            conn.send_headers(sid, headers)
            conn.send_data(sid, frame(small_payment(calls[sid])), end_stream=True)
        # The first 20 calls split into 5-byte pieces, the other 20 in one TLS record.
        data = conn.data_to_send()
        half = len(data) // 2
        tls.write(data[:half])
        send_pending(5)
        tls.write(data[half:])
        send_pending(1 << 20)

        statuses, bodies = {}, {}
        while len(statuses) < len(calls):
            receive()
            while True:
                try:
                    plaintext = tls.read(1 << 20)
                except ssl.SSLWantReadError:
                    break
                for event in conn.receive_data(plaintext):
                    if isinstance(event, h2.events.DataReceived):
                        bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.TrailersReceived):
                        statuses[event.stream_id] = dict(event.headers).get("grpc-status")
            out = conn.data_to_send()
            if out:
                tls.write(out)
                send_pending(1 << 20)
    assert statuses == {sid: "0" for sid in calls}
    for sid, transaction_id in calls.items():
        reply = support.pb.ScoreResponse()
        reply.ParseFromString(bodies[sid][5:])
        assert reply.transaction_id == transaction_id


def served_certificate_cn(port, pki, alpn):
    """Common name of the certificate the server presents to a new TLS connection."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.set_alpn_protocols([alpn])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
    return subject["commonName"]


def wait_for_log(server, text, count, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(server.log_path, errors="replace") as f:
            if f.read().count(text) >= count:
                return
        time.sleep(0.05)
    pytest.fail(f"no {count}x {text!r} in the server log\n" + support.tail(server.log_path), pytrace=False)


def test_sighup_reloads_the_certificate_for_new_connections(tmp_path, pki):
    """Certificate renewal without a restart: after the files change and SIGHUP, new connections on both
    ports get the new certificate, open connections keep working, and a broken pair is refused with the old
    certificate kept."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", *ec, "-keyout", "renewed.key", "-out", "renewed.csr", "-subj", "/CN=fraud server renewed", cwd=pki)
    openssl("x509", "-req", "-in", "renewed.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "renewed.pem", "-days", "2", "-extfile", "server.ext", cwd=pki)
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(pki / "server.pem", live / "cert.pem")
    shutil.copy(pki / "server.key", live / "key.pem")
    admin_port = support.free_port()
    server = support.ServerProcess(str(tmp_path / "fraud-server.log"), credentials=root_credentials(pki),
                                   args=["--tls-cert", str(live / "cert.pem"), "--tls-key", str(live / "key.pem"),
                                         "--admin-port", str(admin_port)])
    server.start()
    try:
        _, port = support.parse_target(server.target)
        assert served_certificate_cn(port, pki, "h2") == "fraud server"
        with grpc.secure_channel(server.target, root_credentials(pki)) as ch:
            stub = support.stub(ch)
            assert stub.Score(small_payment(txid("reload-before")), timeout=10).transaction_id
            shutil.copy(pki / "renewed.pem", live / "cert.pem")
            shutil.copy(pki / "renewed.key", live / "key.pem")
            os.kill(server.proc.pid, signal.SIGHUP)
            wait_for_log(server, "reloaded TLS certificate and key of the admin port", 1)
            assert served_certificate_cn(port, pki, "h2") == "fraud server renewed"
            assert served_certificate_cn(admin_port, pki, "http/1.1") == "fraud server renewed"
            # The connection opened before the reload goes on with its session.
            assert stub.Score(small_payment(txid("reload-after")), timeout=10).transaction_id
        # A key that does not match the certificate: refused, the renewed certificate stays.
        shutil.copy(pki / "server.key", live / "key.pem")
        os.kill(server.proc.pid, signal.SIGHUP)
        wait_for_log(server, "reload failed, TLS certificate and key of the admin port", 1)
        assert served_certificate_cn(port, pki, "h2") == "fraud server renewed"
        with grpc.secure_channel(server.target, root_credentials(pki)) as ch:
            assert support.stub(ch).Score(small_payment(txid("reload-refused")), timeout=10).transaction_id
    finally:
        assert server.stop() == 0, support.tail(server.log_path)
