#!/usr/bin/env bash
# Rebuilds crates/geo/data/default-geo.bin.gz, the embedded GeoIP default,
# from the two @ip-location-db packages on the npm registry. Pin the version
# (the packages are published together, same version) so a rebuild is
# reproducible; pass another version as $1 to move on.
#
#   bash crates/geo/data/regenerate.sh [VERSION]
#
# Needs npm and python3 (pip installs the maxminddb module if it is missing).
set -euo pipefail
version="${1:-2.3.2026061719}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "@ip-location-db/geo-whois-asn-country-mmdb@$version" "@ip-location-db/asn@$version" >/dev/null
mkdir country asn
tar xzf ip-location-db-geo-whois-asn-country-mmdb-"$version".tgz -C country
tar xzf ip-location-db-asn-"$version".tgz -C asn
python3 -c 'import maxminddb' 2>/dev/null || pip install --quiet maxminddb

python3 "$here/regenerate.py" \
  --version "$version" \
  --country-mmdb country/package/geo-whois-asn-country.mmdb \
  --asn-v4 asn/package/asn-ipv4-num.csv \
  --asn-v6 asn/package/asn-ipv6-num.csv \
  --out "$here/default-geo.bin.gz"
# The licences travel with the data.
cp asn/package/DBIP-LICENSE "$here/LICENSE-DBIP"
cp asn/package/ROUTEVIEWS-LICENSE "$here/LICENSE-ROUTEVIEWS"
cp asn/package/NRO_LICENSE "$here/LICENSE-NRO"
ls -l "$here/default-geo.bin.gz"
