#!/usr/bin/env bash
# Regenerates host/compliance/data/timezones.txt (phone number prefix -> IANA time zones)
# from libphonenumber's timezone mapper data as shipped by the maintained `phonenumbers`
# package on PyPI. Run it when libphonenumber publishes new area codes; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --no-deps --target "$work" "phonenumbers${1:+==$1}"
PYTHONPATH="$work" python3 - <<'PY'
import phonenumbers
from phonenumbers.tzdata import TIMEZONE_DATA
keys = sorted(TIMEZONE_DATA, key=lambda k: (len(k), k))
header = f"""# Phone number prefix -> IANA time zones: libphonenumber's timezone mapper data
# (resources/timezones/map_data.txt, Apache License 2.0, (C) The Libphonenumber Authors),
# as shipped by the `phonenumbers` package {phonenumbers.__version__} on PyPI, a maintained port.
# Regenerate with scripts/update-timezones.sh; never edit by hand.
# Format: <country code + prefix>|<zone>&<zone>...  (longest matching prefix wins)
"""
with open("host/compliance/data/timezones.txt", "w") as f:
    f.write(header + "\n".join(f"{k}|{'&'.join(TIMEZONE_DATA[k])}" for k in keys) + "\n")
print(f"{len(keys)} prefixes from phonenumbers {phonenumbers.__version__}")
PY
