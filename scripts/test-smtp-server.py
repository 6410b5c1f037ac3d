#!/usr/bin/env python3
"""A real SMTP server for the broker's end-to-end mail tests (aiosmtpd), started by the tests themselves.

    test-smtp-server.py --free-port
        prints a free loopback port and exits.
    test-smtp-server.py --make-certs DIR
        writes a throwaway test CA (ca.pem) and a server certificate for localhost and 127.0.0.1
        (server.pem, server.key) into DIR with the openssl CLI, and exits.
    test-smtp-server.py --port N --spool DIR [--tls-cert CERT --tls-key KEY] [--auth USER:PASSWORD]
                        [--reject rcpt|data] [--only-login]
        serves SMTP on 127.0.0.1:N until terminated. With a certificate, STARTTLS is offered and required
        before any mail command; with --auth, AUTH (PLAIN and LOGIN, only after TLS when TLS is on) is
        required; --reject answers 550 to every RCPT TO or 554 to every DATA; --only-login offers AUTH LOGIN
        only. Every session event is appended as one JSON line to DIR/events.jsonl: {"event": "mail"} at
        MAIL FROM, {"event": "rejected", "at": "rcpt"|"data"} for a rejection, and {"event": "message",
        "mail_from", "rcpt_tos", "data", "tls", "login"} for each message accepted. Prints "ready N" once
        it accepts connections.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading

_lock = threading.Lock()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(directory):
    os.makedirs(directory, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Broker Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "server.ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                  "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def serve(args):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    os.makedirs(args.spool, exist_ok=True)
    events = os.path.join(args.spool, "events.jsonl")

    def record(event):
        with _lock, open(events, "a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")

    class Handler:
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            record({"event": "mail"})
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if args.reject == "rcpt":
                record({"event": "rejected", "at": "rcpt"})
                return "550 5.1.1 no such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if args.reject == "data":
                record({"event": "rejected", "at": "data"})
                return "554 5.7.1 message refused"
            login = session.auth_data if session.authenticated else None
            record({
                "event": "message", "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.original_content.decode("utf-8", "replace"),
                "tls": session.ssl is not None, "login": login,
            })
            return "250 2.0.0 accepted"

    parameters = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        parameters.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

        parameters.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=bool(args.tls_cert))
        if args.only_login:
            parameters.update(auth_exclude_mechanism=["PLAIN"])

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, server_hostname="localhost",
                            ready_timeout=10, **parameters)
    controller.start()
    print(f"ready {args.port}", flush=True)
    done = threading.Event()
    # A parent may start us with these signals blocked (a blocked mask survives exec): unblock them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        if os.getppid() == 1:  # the test that started us is gone
            break
    controller.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--free-port", action="store_true")
    parser.add_argument("--make-certs", metavar="DIR")
    parser.add_argument("--port", type=int)
    parser.add_argument("--spool")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--reject", choices=["rcpt", "data"])
    parser.add_argument("--only-login", action="store_true")
    args = parser.parse_args()
    if args.free_port:
        print(free_port())
    elif args.make_certs:
        make_certs(args.make_certs)
    elif args.port and args.spool:
        serve(args)
    else:
        parser.error("give --free-port, --make-certs DIR, or --port and --spool")


if __name__ == "__main__":
    sys.exit(main())
