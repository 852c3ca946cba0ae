#!/usr/bin/env python3
"""Makes an EPCIS document of N commissioning events from one exported commissioning event:
each a new lot of the same model, with its own event id and nonce."""
import json, sys, uuid
template = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
first = next(e for e in template["epcisBody"]["eventList"] if e["bizStep"] == "commissioning")
events = []
for i in range(n):
    e = json.loads(json.dumps(first))
    gtin = "06950123450012"
    e["quantityList"][0]["epcClass"] = f"https://id.gs1.org/01/{gtin}/10/BENCH{i:06d}"
    e["eventID"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bench-' + str(i))}"
    e["suyuan:nonce"] = str(7_000_000 + i)
    events.append(e)
template["epcisBody"]["eventList"] = events
json.dump(template, open(sys.argv[3], "w"))
