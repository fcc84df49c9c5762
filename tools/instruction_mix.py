#!/usr/bin/python3
"""The executed instructions of one function, by kind, from a callgrind profile.

Usage: tools/instruction_mix.py CALLGRIND_OUT BINARY FUNCTION_SUBSTRING [PAIRS]

CALLGRIND_OUT must come from `valgrind --tool=callgrind --dump-instr=yes`; every function
whose name contains FUNCTION_SUBSTRING is counted (e.g. 'N_AVX2::(anonymous
namespace)::hogbatch_fixed<6>'). Each executed address is matched to its mnemonic with
`objdump -d` on BINARY. With PAIRS, counts are also given per training pair. Prints a
Markdown table, kinds by executed count.
"""
import collections
import re
import subprocess
import sys


def executed_by_address(profile, wanted):
    """{address: executed count} over the functions whose name contains `wanted`."""
    names, current, costs = {}, "", collections.Counter()
    address, skip_call_cost = 0, False
    with open(profile, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            # Callgrind names a function once, at its first mention, which can be a call
            # (cfn=) before the function's own cost lines (fn=).
            m = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?$", line)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                if not m.group(1):
                    current = names.get(m.group(2), "")
                continue
            if line.startswith("calls="):
                skip_call_cost = True  # the next cost line is the callee's, not ours
                continue
            m = re.match(r"^([+-]?)(0x[0-9a-f]+|\d+|\*)\s+\S+\s+(\d+)$", line)
            if not m:
                continue
            sign, pos, cost = m.groups()
            if pos.startswith("0x"):
                address = int(pos, 16)
            elif sign == "+":
                address += int(pos)
            elif sign == "-":
                address -= int(pos)
            if skip_call_cost:
                skip_call_cost = False
                continue
            if wanted in current:
                costs[address] += int(cost)
    return costs


def mnemonics(binary, lo, hi):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={lo:#x}", f"--stop-address={hi + 16:#x}",
                          binary], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m:
            found[int(m.group(1), 16)] = (m.group(2), m.group(3))
    return found


def kind(op, args):
    if op.startswith(("vfmadd", "vfnmadd", "vfmsub", "vfnmsub")):
        return "FMA, memory operand" if "(" in args else "FMA"
    if op in ("vmovups", "vmovaps", "vmovdqu", "vmovdqa", "vmovapd", "vmovupd", "vmovss", "vmovd", "vmovq", "vmovsd"):
        if args.split(",")[-1].strip().endswith(")"):
            return "vector store"
        return "vector load" if "(" in args else "vector register move"
    if op.startswith(("vbroadcast", "vpbroadcast")):
        return "broadcast"
    if op.startswith("vgather"):
        return "gather (sigmoid tables)"
    if op.startswith(("vhadd", "vperm", "vextract", "vshuf", "vunpck", "vinsert", "vmovhl", "vmovlh", "vmovlp", "vmovhp")):
        return "shuffle (sums of lanes)"
    if re.match(r"v.*(ss|sd)$", op) or re.match(r"vcvtt?s[sd]2", op) or op.startswith(("vcomi", "vucomi")):
        return "scalar float"
    if op.startswith(("vcmp", "vpcmp", "vblend", "vpblend")):
        return "vector compare, select"
    if op.startswith("v"):
        return "other vector arithmetic (add, multiply, convert, integer)"
    if op.startswith("prefetch"):
        return "prefetch"
    return "integer, address, branch"


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    profile, binary, wanted = sys.argv[1:4]
    pairs = int(sys.argv[4]) if len(sys.argv) == 5 else 0
    costs = executed_by_address(profile, wanted)
    if not costs:
        sys.exit(f"instruction_mix: no executed instruction of a function matching {wanted!r} in {profile} "
                 "(was it recorded with --dump-instr=yes?)")
    ops = mnemonics(binary, min(costs), max(costs))
    by_kind = collections.Counter()
    for address, count in costs.items():
        by_kind[kind(*ops.get(address, ("?", "")))] += count
    total = sum(by_kind.values())
    print("| kind | executed | % |" + (" per pair |" if pairs else ""))
    print("| --- | ---: | ---: |" + (" ---: |" if pairs else ""))
    for k, c in by_kind.most_common():
        print(f"| {k} | {c:,} | {100 * c / total:.1f} |" + (f" {c / pairs:.1f} |" if pairs else ""))
    print(f"| total | {total:,} | 100.0 |" + (f" {total / pairs:.1f} |" if pairs else ""))


if __name__ == "__main__":
    main()
