#!/usr/bin/python3
"""hex2bin.py DIR FILE.hex... — each golden vector (hex pairs, '#'
comments) written as raw bytes to DIR/FILE (without .hex): the fuzz seed
corpus of fuzz/tcrp.c (make rooms-fuzz-corpus)."""

import os
import re
import sys

for path in sys.argv[2:]:
    with open(path) as f:
        data = bytes.fromhex(re.sub(r"#.*", "", f.read()))
    name = os.path.basename(path)[:-len(".hex")]
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
