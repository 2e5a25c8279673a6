#!/usr/bin/env python3
"""Every hostile input of issue #13 through the shipped binary, each under a
4 GB address-space limit, timed, with its peak memory and exit code.

usage: python3 tools/hostile_sweep.py [path/to/baton]   (default target/release/baton)

Each case must end in under 5 s with results or a located error. Run from
the repository root; inputs are generated into a temporary folder.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

BATON = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/baton")
WS = "test-scenarios/lab-orders-results"
LIMIT = 4 * 1024 ** 3
MSH = "MSH|^~\\&|LABCORE|LAB|CAREEHR|HOSP|20240101120000-0800||ORU^R01|C1|P|2.5.1\r"


def oru(n_obx):
    s = [MSH, "PID|1||MRN1^^^HOSP^MR||Doe^Jo||19800101|F\r",
         "OBR|1|ORD1|FIL1|24331-1^Lipid panel^LN|||20240101103000-0800||||||||||||||||F\r"]
    for i in range(1, n_obx + 1):
        s.append(f"OBX|{i}|NM|2093-3^Cholesterol^LN||{i % 90 + 5}|mg/dL|<200|N|||F|||20240101110000-0800\r")
    return "".join(s)


def workspace(tmp, name):
    d = os.path.join(tmp, name)
    shutil.copytree(WS, d)
    return d


def scenario(ws, name, body):
    p = os.path.join(ws, "scenarios", name + ".toml")
    with open(p, "w") as f:
        f.write(body)
    return p


def cases(tmp):
    out = []
    w = workspace(tmp, "huge-set")
    scenario(w, "zz-huge", 'name = "x"\nkind = "edge"\nhandoff = "results"\ninput = "../messages/oru-r01-lipid-results.hl7"\n\n[[mutate]]\nset = "PID-4000000000"\nvalue = "x"\n')
    out.append(("scenario set = PID-4000000000", ["run", w]))

    w = workspace(tmp, "exp-replace")
    muts = "".join('\n[[mutate]]\nreplace = "a"\nwith = "aa"\n' for _ in range(40))
    scenario(w, "zz-exp", 'name = "x"\nkind = "edge"\nhandoff = "results"\ninput = "../messages/oru-r01-lipid-results.hl7"\n' + muts)
    out.append(("40 doubling replace mutations", ["run", w]))

    w = workspace(tmp, "huge-len")
    p = os.path.join(w, "profiles", "careehr-results-receiver.toml")
    with open(p, "a") as f:
        f.write('\n[[field]]\npath = "OBX-9"\nusage = "O"\nmax_length = 9223372036854775807\nmax_repetitions = 4294967296\n')
    out.append(("profile max_length = i64::MAX, then generate", ["generate", w, "--handoff", "results"]))

    nist = os.path.join(tmp, "nist")
    shutil.copytree("tests/data/corpus/profiles/nist/cdc_PHLIP-FLU-2.5.1", nist)
    # The first assertion of the real constraints, wrapped 5,000 NOT deep.
    with open(os.path.join(nist, "CONSTRAINTS.xml")) as f:
        text = f.read()
    start = text.index("<Assertion>") + len("<Assertion>")
    end = text.index("</Assertion>", start)
    text = text[:start] + "<NOT>" * 5000 + text[start:end] + "</NOT>" * 5000 + text[end:]
    with open(os.path.join(nist, "CONSTRAINTS.xml"), "w") as f:
        f.write(text)
    msg = "tests/data/corpus/messages/oru/cdc_PHLIP_FLU_2.5.1_VALID_MESSAGE.txt"
    out.append(("NIST assertion nested 5,000 NOT deep", ["validate", "--profile", os.path.join(nist, "PROFILE.xml"), msg]))

    big = os.path.join(tmp, "obx32k.hl7")
    with open(big, "w") as f:
        f.write(oru(32000))
    big2 = os.path.join(tmp, "obx32k-b.hl7")
    with open(big2, "w") as f:
        f.write(oru(32000).replace("|mg/dL|", "|mmol/L|"))
    out.append(("diff of two 32k-OBX messages", ["diff", big, big2]))
    out.append(("ack (replay) of a 32k-OBX message", ["ack", big, "--workspace", WS, "--handoff", "results"]))
    b48 = os.path.join(tmp, "obx48k.hl7")
    with open(b48, "w") as f:
        f.write(oru(48000))
    out.append(("validate a 48k-OBX message", ["validate", "--profile", WS + "/profiles/careehr-results-receiver.toml", b48]))
    out.append(("inspect a 48k-OBX message", ["inspect", b48]))

    z = os.path.join(tmp, "z4000.hl7")
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    names = [f"{'ZYXWQKJ'[i // 1296]}{alnum[i // 36 % 36]}{alnum[i % 36]}" for i in range(4000)]
    with open(z, "w") as f:
        f.write(MSH + "".join(f"{n}|{i}|x\r" for i, n in enumerate(names)))
    ign = os.path.join(tmp, "ignore.toml")
    with open(ign, "w") as f:
        f.write('[profile]\nname = "r"\nside = "receiver"\nunknown_segments = "ignore"\n')
    out.append(("4,000 distinct Z-segments, ignore receiver", ["validate", "--profile", ign, z]))

    w = workspace(tmp, "zzz-set")
    scenario(w, "zz-n", 'name = "x"\nkind = "edge"\nhandoff = "results"\ninput = "../messages/oru-r01-lipid-results.hl7"\n\n[[mutate]]\nset = "ZZZ[100000]-1"\nvalue = "x"\n')
    out.append(("scenario set = ZZZ[100000]-1", ["run", w]))

    w = workspace(tmp, "rules16k")
    rules = ['mode = "passthrough"\n']
    for i in range(16000):
        rules.append(f'\n[[rule]]\nid = "R{i}"\naction = "set"\nto = "ZZ{i // 999 % 10}-{i % 999 + 1}"\nvalue = "v{i}"\n')
    with open(os.path.join(w, "rules", "results.toml"), "w") as f:
        f.write("".join(rules))
    out.append(("16,000 rules, then run", ["run", w]))

    mwb = os.path.join(tmp, "mwb32k.xml")
    fields = "".join(f'<Field Name="F{i}" Usage="O" Min="0" Max="1" Datatype="ST" Length="20" ItemNo="{i:05}"/>' for i in range(32000))
    with open("tests/data/corpus/profiles/mwb/hapi_ADT_A31.xml") as f:
        text = f.read()
    at = text.index("</HL7v2xStaticDef>")
    text = text[:at] + '<Segment Name="ZZZ" LongName="Z" Usage="O" Min="0" Max="1">' + fields + "</Segment>" + text[at:]
    with open(mwb, "w") as f:
        f.write(text)
    out.append(("Messaging Workbench profile with 32k fields", ["validate", "--profile", mwb, msg]))

    esc = os.path.join(tmp, "escapes.hl7")
    with open(esc, "w") as f:
        f.write(MSH + "OBX|1|ST|x||" + "\\X\\Z" * 80000 + "\r")
    out.append(("inspect a field of 320k bad escapes", ["inspect", esc]))

    junk = os.path.join(tmp, "junk.bin")
    with open(junk, "wb") as f:
        f.write(os.urandom(50 * 1024 * 1024))
    out.append(("replay a 50 MB binary log", ["replay", WS, "--handoff", "results", junk]))
    line = os.path.join(tmp, "line.hl7")
    with open(line, "w") as f:
        f.write(MSH + "OBX|1|ST|x||" + "A" * (50 * 1024 * 1024) + "\r")
    out.append(("replay a log whose message is one 50 MB line", ["replay", WS, "--handoff", "results", line]))
    out.append(("learn from the same 50 MB line", ["learn", line]))
    return out


def run(args):
    cmd = ["/usr/bin/time", "-f", "%M", "prlimit", f"--as={LIMIT}", BATON] + args
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
    s = time.perf_counter() - t
    lines = p.stderr.strip().splitlines()
    peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    said = next((l for l in lines[:-1] if l.strip()), "") or next((l for l in p.stdout.splitlines() if l.strip()), "")
    return s, peak_kb / 1024, p.returncode, said


def main():
    tmp = tempfile.mkdtemp()
    worst = 0.0
    print(f"{'case':<48} {'s':>6} {'MB':>7} exit  first line")
    try:
        for name, args in cases(tmp):
            s, mb, code, said = run(args)
            worst = max(worst, s)
            flag = "" if s < 5 and code in (0, 1, 2) else "   <-- FAILS"
            print(f"{name:<48} {s:6.2f} {mb:7.0f} {code:>4}  {said[:90]}{flag}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"slowest: {worst:.2f} s (limit 5 s, address space {LIMIT // 1024 ** 3} GB)")


if __name__ == "__main__":
    main()
