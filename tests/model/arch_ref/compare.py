#!/usr/bin/env python3
"""compare.py REF.json LLMR.json CHECK BOUND - llmr's logits (`llmr eval --all --json`) against
a reference (top ids and log-sum-exp per position). CHECK maxdiff: the largest |difference| of
log-softmax over the reference's top ids of every position; kl: the mean over positions of
KL(reference || llmr) over the top ids, the rest of each distribution as one more outcome.
Prints the value; exits 0 when it is at most BOUND, 1 otherwise (2 on malformed input)."""
import json
import math
import sys


def main():
    ref_path, ours_path, check, bound = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    ref = json.load(open(ref_path))["positions"]
    ours = json.load(open(ours_path))["logits"]
    if len(ref) != len(ours) or not ref:
        print("position counts differ: reference %d, llmr %d" % (len(ref), len(ours)))
        return 2
    maxdiff, kls = 0.0, []
    for row, pr in zip(ours, ref):
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        kl = mass = omass = 0.0
        for i, lg in pr["top"]:
            lr, lo = lg - pr["lse"], row[i] - lse
            maxdiff = max(maxdiff, abs(lr - lo))
            p = math.exp(lr)
            kl += p * (lr - lo)
            mass += p
            omass += math.exp(lo)
        rest, orest = 1.0 - mass, 1.0 - omass
        if rest > 1e-12 and orest > 1e-12:
            kl += rest * math.log(rest / orest)
        kls.append(kl)
    v = maxdiff if check == "maxdiff" else sum(kls) / len(kls)
    print("%s %.3g (bound %g)" % (check, v, bound))
    return 0 if v <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
