"""Converts the @ip-location-db country MMDB and ASN CSVs into the compact
range table telltale embeds (format: crates/geo/data/README.md).

Run through regenerate.sh, which fetches the inputs with `npm pack`.
"""

import argparse
import csv
import gzip
import ipaddress
import struct

import maxminddb

NONE16 = 0xFFFF
NONE32 = 0xFFFFFFFF


def country_ranges(path):
    """(version, start, end, code) per network of the country database,
    adjacent networks of one country joined."""
    reader = maxminddb.open_database(path)
    meta = reader.metadata()
    out = {4: [], 6: []}
    for net, rec in reader:
        code = (rec or {}).get("country_code")
        if not code:
            continue
        if net.version == 6 and _is_v4_alias(net):
            # The IPv4 subtree is reachable through these prefixes too; the
            # IPv4 networks themselves are listed once as IPv4.
            continue
        lo, hi = int(net.network_address), int(net.broadcast_address)
        ranges = out[net.version]
        if ranges and ranges[-1][1] + 1 == lo and ranges[-1][2] == code:
            ranges[-1][1] = hi
        else:
            ranges.append([lo, hi, code])
    for v in out:
        out[v].sort()
    return meta.build_epoch, out


V4_ALIASES = [
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0/96"),
    ipaddress.ip_network("2002::/16"),
]


def _is_v4_alias(net):
    return any(net.subnet_of(a) for a in V4_ALIASES)


def asn_ranges(path):
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            lo, hi, asn, org = int(row[0]), int(row[1]), int(row[2]), row[3]
            out.append([lo, hi, asn, org])
    out.sort()
    return out


def merge(countries, asns):
    """Elementary intervals where both tables are constant, as
    (start, (code, asn, org) or None), neighbours with equal answers joined.
    Where the ASN table overlaps itself, the earlier range wins."""
    bounds = set()
    for lo, hi, *_ in countries:
        bounds.add(lo)
        bounds.add(hi + 1)
    for lo, hi, *_ in asns:
        bounds.add(lo)
        bounds.add(hi + 1)
    bounds = sorted(bounds)
    out = []
    ci = ai = 0
    for b in bounds:
        while ci < len(countries) and countries[ci][1] < b:
            ci += 1
        while ai < len(asns) and asns[ai][1] < b:
            ai += 1
        code = countries[ci][2] if ci < len(countries) and countries[ci][0] <= b else None
        asn = org = None
        if ai < len(asns) and asns[ai][0] <= b:
            asn, org = asns[ai][2], asns[ai][3]
        value = None if code is None and asn is None else (code, asn, org)
        if out and out[-1][1] == value:
            continue
        out.append((b, value))
    # A trailing boundary past the address space means nothing.
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--country-mmdb", required=True)
    ap.add_argument("--asn-v4", required=True)
    ap.add_argument("--asn-v6", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    epoch, countries = country_ranges(args.country_mmdb)
    tables = {
        4: merge(countries[4], asn_ranges(args.asn_v4)),
        6: merge(countries[6], asn_ranges(args.asn_v6)),
    }
    tables[4] = [(s, v) for s, v in tables[4] if s < 1 << 32]
    tables[6] = [(s, v) for s, v in tables[6] if s < 1 << 128]

    codes, orgs, records = {}, {}, {}
    for v in (4, 6):
        for _, value in tables[v]:
            if value is None or value in records:
                continue
            code, asn, org = value
            if code is not None and code not in codes:
                codes[code] = len(codes)
            if org and org not in orgs:
                orgs[org] = len(orgs)
            records[value] = len(records)

    import datetime

    build_date = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d")
    header = (
        "name=telltale-default\n"
        f"build_date={build_date}\n"
        f"source_version={args.version}\n"
        "sources=@ip-location-db/geo-whois-asn-country-mmdb (country; CC0-1.0, NRO data CC BY 4.0);"
        " @ip-location-db/asn (AS number and organisation; CC BY 4.0 RouteViews, DB-IP)\n"
    ).encode()

    b = bytearray(b"TTGEO\x00\x00\x01")
    b += struct.pack("<I", len(header)) + header
    b += struct.pack("<I", len(codes))
    for code in codes:
        enc = code.encode("ascii")
        assert len(enc) == 2, code
        b += enc
    blob = bytearray()
    offsets = [0]
    for org in orgs:
        blob += org.encode("utf-8")
        offsets.append(len(blob))
    b += struct.pack("<II", len(orgs), len(blob))
    b += struct.pack(f"<{len(offsets)}I", *offsets)
    b += blob
    b += struct.pack("<I", len(records))
    for (code, asn, org) in records:
        b += struct.pack(
            "<HII",
            NONE16 if code is None else codes[code],
            0 if asn is None else asn,
            NONE32 if not org else orgs[org],
        )
    for v in (4, 6):
        rows = tables[v]
        b += struct.pack("<I", len(rows))
        if v == 4:
            b += struct.pack(f"<{len(rows)}I", *(s for s, _ in rows))
        else:
            for s, _ in rows:
                b += s.to_bytes(16, "little")
        b += struct.pack(
            f"<{len(rows)}I", *(NONE32 if val is None else records[val] for _, val in rows)
        )

    with open(args.out, "wb") as f:
        f.write(gzip.compress(bytes(b), 9, mtime=0))
    print(
        f"{build_date}: {len(tables[4])} IPv4 ranges, {len(tables[6])} IPv6 ranges, "
        f"{len(records)} records, {len(codes)} countries, {len(orgs)} organisations, "
        f"{len(b)} bytes raw"
    )


if __name__ == "__main__":
    main()
