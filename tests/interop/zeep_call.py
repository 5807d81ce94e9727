#!/usr/bin/env python3
"""Calls ProcessCervixScreeningInformation through an NTjP router with zeep, a SOAP client
library not written here, driven only by our WSDL.

zeep loads the WSDL (and the schemas it imports), builds the request from the schema types,
puts the LogicalAddress into the SOAP header from the WSDL's header part and sends the
WSDL's soapAction, over mutual TLS with the given certificate, key and CA.

Prints one JSON line: {"resultCode": ..., "resultText": ...} and exits 0. With
--expect-fault a SOAP Fault is the expected outcome: it prints {"fault": faultstring} and
exits 0 (and exits 1 if the call did not fault). Any other exception: the error on stderr,
exit 1. --debug prints the request zeep sent (and the answer it got) to stderr.

Python's standard library plus zeep and requests only.
"""

import argparse
import json
import sys
import traceback

BINDING = (
    "{urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformation:1:rivtabp21}"
    "ProcessCervixScreeningInformationResponderBinding"
)
PERSON_ID_ROOT = "1.2.752.129.2.1.3.1"
HSA_ROOT = "1.2.752.129.2.1.4.1"
SNOMED_CT = "1.2.752.116.2.1.1"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wsdl", required=True, help="path or URL of the contract's WSDL")
    p.add_argument(
        "--url", help="the router's service URL (default: the WSDL's own soap:address)"
    )
    p.add_argument("--cert", required=True, help="client certificate (PEM)")
    p.add_argument("--key", required=True, help="client private key (PEM)")
    p.add_argument("--ca", required=True, help="CA certificate to trust (PEM)")
    p.add_argument("--logical-address", required=True, help="LogicalAddress header value")
    p.add_argument("--personnummer", required=True, help="12-digit personnummer YYYYMMDDNNNN")
    p.add_argument("--correlation-id", required=True, help="x-skltp-correlation-id HTTP header")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request")
    p.add_argument("--expect-fault", action="store_true", help="a SOAP Fault is the expected answer")
    p.add_argument("--debug", action="store_true", help="print what zeep sent and got to stderr")
    return p.parse_args(argv)


def region():
    """A RegionType: the region (an OrganisationType), no careGiver or careUnit."""
    return {
        "region": {
            "id": {"root": HSA_ROOT, "extension": "TSTNMT2321000156-R12"},
            "name": "Region Skåne",
        }
    }


def cervix_screening_information(personnummer):
    return {
        "subjectOfCare": {"personId": {"root": PERSON_ID_ROOT, "extension": personnummer}},
        "sendingRegion": region(),
        "specimen": {
            "specimenDate": "20250314",
            "originalRegion": region(),
            "HPVstatusList": [{"value": {"code": "59311000052101", "codeSystem": SNOMED_CT}}],
        },
    }


def field(value, name):
    """`name` of a zeep result, also when zeep wrapped it as {header, body}."""
    if value is None:
        return None
    try:
        return value[name]
    except (KeyError, TypeError, AttributeError, IndexError):
        pass
    body = getattr(value, "body", None)
    if body is not None and body is not value:
        return field(body, name)
    return None


def dump_history(history):
    from lxml import etree

    for what, entry in (("sent", history.last_sent), ("received", history.last_received)):
        if not entry:
            continue
        print(f"--- zeep {what} ---", file=sys.stderr)
        if entry.get("http_headers"):
            for k, v in dict(entry["http_headers"]).items():
                print(f"{k}: {v}", file=sys.stderr)
        envelope = entry.get("envelope")
        if envelope is not None:
            print(etree.tostring(envelope, pretty_print=True, encoding="unicode"), file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8")

    import requests
    import zeep
    from zeep.exceptions import Fault
    from zeep.plugins import HistoryPlugin
    from zeep.transports import Transport

    history = HistoryPlugin()
    try:
        session = requests.Session()
        session.cert = (args.cert, args.key)
        session.verify = args.ca
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override
        # session.verify (and would route through *_proxy): only our test CA may count, and
        # the router is on this machine.
        session.trust_env = False
        session.headers["x-skltp-correlation-id"] = args.correlation_id
        transport = Transport(session=session, timeout=args.timeout, operation_timeout=args.timeout)
        client = zeep.Client(args.wsdl, transport=transport, plugins=[history])
        # Without --url, the endpoint is the one the WSDL names (a WSDL fetched from the
        # router names the router's URL).
        service = client.create_service(BINDING, args.url) if args.url else client.service
        try:
            result = service.ProcessCervixScreeningInformation(
                cervixScreeningInformation=cervix_screening_information(args.personnummer),
                # The WSDL's header part `LogicalAddress`: zeep renders it into soap:Header.
                _soapheaders={"LogicalAddress": args.logical_address},
            )
        except Fault as fault:
            if args.debug:
                dump_history(history)
            if args.expect_fault:
                print(json.dumps({"fault": fault.message}, ensure_ascii=False))
                return 0
            raise
        if args.debug:
            dump_history(history)
        code = field(result, "resultCode")
        text = field(result, "resultText")
        print(json.dumps({"resultCode": code, "resultText": text}, ensure_ascii=False))
        if args.expect_fault:
            print("expected a SOAP Fault, got an answer", file=sys.stderr)
            return 1
        return 0
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        if args.debug:
            try:
                dump_history(history)
            except Exception:  # noqa: BLE001
                pass
        traceback.print_exc(file=sys.stderr)
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
