"""An independent SOAP client (zeep) reads qbsync's WSDL and makes a whole Web Connector session
through it, the way a generic SOAP stack would: this checks the WSDL, the envelopes and the
answers against each other without any of qbsync's own code.

    python zeep_client.py http://127.0.0.1:8080 USERNAME PASSWORD
"""

import sys

import zeep

base, username, password = sys.argv[1], sys.argv[2], sys.argv[3]
client = zeep.Client(f"{base}/qbwc?wsdl")
service = client.service
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    checks += 1


def strings(answer):
    """An ArrayOfString as a list; zeep gives None for an empty <string/>."""
    items = answer if isinstance(answer, list) else (answer.string if answer is not None else [])
    return [s or "" for s in items]


operations = set(client.wsdl.services["QBWebConnectorSvc"].ports["QBWebConnectorSvcSoap"].binding._operations)
expected = {"serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
            "connectionError", "getLastError", "closeConnection", "getServerVersion", "getInteractiveURL",
            "interactiveDone", "interactiveRejected"}
check(expected <= operations, f"the WSDL offers {sorted(operations)}")

check(service.serverVersion().startswith("qbsync"), "serverVersion")
check(service.getServerVersion(ticket="") .startswith("qbsync"), "getServerVersion")
check((service.clientVersion(strVersion="2.3.0.215") or "") == "", "clientVersion accepts a current QBWC")
check((service.clientVersion(strVersion="1.5.0.0") or "").startswith("E:"), "clientVersion refuses an old QBWC")
check(strings(service.authenticate(strUserName=username, strPassword="wrong")) == ["", "nvu"], "a wrong password is nvu")

ticket, company_file = strings(service.authenticate(strUserName=username, strPassword=password))[:2]
check(len(ticket) >= 32 and company_file == "", "authenticate gives a ticket and the open company file")

request = service.sendRequestXML(ticket=ticket, strHCPResponse="", strCompanyFileName=r"C:\Company\Acme.qbw",
                                 qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0)
check('<?qbxml version="13.0"?>' in request and "<CustomerQueryRq" in request, "the first request asks for customers")
request_id = request.split('requestID="', 1)[1].split('"', 1)[0]
customers = (
    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
    f'<CustomerQueryRs requestID="{request_id}" statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
    'iteratorRemainingCount="0" iteratorID="{7c1a}">'
    '<CustomerRet><ListID>80000001-1</ListID><EditSequence>1</EditSequence><Name>Zo&#235; &amp; Co</Name>'
    '<FullName>Zo&#235; &amp; Co</FullName><IsActive>true</IsActive><Sublevel>0</Sublevel></CustomerRet>'
    '</CustomerQueryRs></QBXMLMsgsRs></QBXML>'
)
check(service.receiveResponseXML(ticket=ticket, response=customers, hresult="", message="") == 90, "customers staged: 90 %")

request = service.sendRequestXML(ticket=ticket, strHCPResponse="", strCompanyFileName="", qbXMLCountry="US",
                                 qbXMLMajorVers=13, qbXMLMinorVers=0)
check("<EmployeeQueryRq" in request and "<IncludeRetElement>SSN</IncludeRetElement>" not in request, "then employees, never SSNs")
request_id = request.split('requestID="', 1)[1].split('"', 1)[0]
employees = (
    '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
    f'<EmployeeQueryRs requestID="{request_id}" statusCode="1" statusSeverity="Info" '
    'statusMessage="A query request did not find a matching object in QuickBooks"/></QBXMLMsgsRs></QBXML>'
)
check(service.receiveResponseXML(ticket=ticket, response=employees, hresult="", message="") == 100, "done: 100 %")
check(service.closeConnection(ticket=ticket) == "Staged 1 customer and 0 employees", "closeConnection summary")

check(service.receiveResponseXML(ticket=ticket, response="", hresult="", message="") < 0, "an ended ticket answers negative")
check("does not know" in (service.getLastError(ticket="not-a-ticket") or ""), "getLastError of an unknown ticket")
check(service.connectionError(ticket="not-a-ticket", hresult="0x80040408", message="x") == "done", "connectionError")
check((service.getInteractiveURL(wcTicket="x", sessionID="y") or "") == "", "getInteractiveURL")
check(service.interactiveDone(wcTicket="x") == "Done", "interactiveDone")
service.interactiveRejected(wcTicket="x", reason="no")

print(f"zeep contract: {checks} passed, 0 failed")
