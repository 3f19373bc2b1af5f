#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print the `make bench` table from the files bench/lib.sh writes.

usage: table.py ROWS RESULTS

ROWS has one tab-separated line per table row, in table order:
    row-id  label  unit  target
where target is one of
    pt>=X       crashfs / passthrough_ll at least X
    lazyfs>=X   crashfs / LazyFS at least X
    pt<=X       crashfs / passthrough_ll at most X (lower is better)
    native>X    crashfs / native above X
    crashfs<X   the crashfs figure itself below X (lower is better)
    crashfs>X   the crashfs figure itself at least X (higher is better)
    ratio>=X    the crashfs figure is itself a ratio, at least X
    -           no target (information only)
    A, B        both targets (each one above); a target against lazyfs is
                judged only when LazyFS was measured
A line "section<TAB>title" starts a new table.

RESULTS has one tab-separated line per measurement:
    row-id  target  value      (one repetition; target native, pt, crashfs,
                                base: another crashfs build, CRASHFS_BASE,
                                or lazyfs: LazyFS, when its build is there)
    row-id  target  !short|why (that target could not be measured: short
                                goes in the cell, why in a note below)

Each cell is the median of its repetitions.  A "base" column and a
crashfs/base ratio appear when some row has base results, a "lazyfs"
column and a crashfs/lazyfs ratio when some row has lazyfs results.
Under each table, every row measured on more than one target gets its
range (lowest and highest run of each target) and its per-round ratios
crashfs/pt_ll (and crashfs/base, crashfs/lazyfs): the k-th run of crashfs
over the k-th run of the other, which ran in the same round, as median
[lowest-highest].  Exit status: 0 every target
met, 1 a target missed, 2 a target could not be judged (crashfs missing,
broken, or a run failed).
"""

import statistics
import sys

TARGETS = ("native", "pt", "crashfs")
OPTIONAL = ("base", "lazyfs")  # columns shown when they have results


def headers_for(extra):
    """The header line with the optional columns in extra."""
    return (("workload", "native", "passthrough_ll", "crashfs") +
            tuple(extra) + ("crashfs/pt_ll", "crashfs/native") +
            tuple(f"crashfs/{t}" for t in extra) + ("target", "status"))


def plain(value):
    """A figure without its unit, as fmt() writes it."""
    return fmt(value, "").strip()


def ranges(label, unit, runs, row):
    """The range line of one row: each target's lowest and highest run,
    and the per-round ratios of crashfs to pt and base."""
    parts = []
    for t in TARGETS + OPTIONAL:
        v = runs.get((row, t))
        if v:
            parts.append(f"{t} {plain(min(v))}-{plain(max(v))}")
    own = runs.get((row, "crashfs"))
    for ref in ("pt",) + OPTIONAL:
        other = runs.get((row, ref))
        if own and other:
            r = [a / b for a, b in zip(own, other) if b]
            if r:
                parts.append(f"crashfs/{ref} per round "
                             f"{statistics.median(r):.2f}x "
                             f"[{min(r):.2f}-{max(r):.2f}]")
    if len(parts) < 2:
        return None
    return f"  {label.strip()} ({unit}): " + "; ".join(parts)


def fmt(value, unit):
    if value is None:
        return "-"
    if value >= 100 or (unit in ("ops", "states") and value.is_integer()):
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def judge(target, cells):
    """Return (target text, status) for one row."""
    if target == "-":
        return "-", ""
    if "," in target:
        texts, statuses = [], []
        for part in target.split(","):
            part = part.strip()
            if part.startswith("lazyfs>=") and "lazyfs" not in cells:
                continue  # LazyFS not built: nothing to judge
            text, status = judge(part, cells)
            texts.append(text)
            statuses.append(status)
        for worst in ("n/a", "MISS", "PASS"):
            if worst in statuses:
                return ", ".join(texts), worst
        return ", ".join(texts), ""
    if target.startswith("pt>="):
        ref, bound, text = "pt", float(target[4:]), f">= {target[4:]}x pt_ll"
    elif target.startswith("pt<="):
        ref, bound, text = "pt", float(target[4:]), f"<= {target[4:]}x pt_ll"
    elif target.startswith("lazyfs>="):
        ref, bound = "lazyfs", float(target[8:])
        text = f">= {target[8:]}x lazyfs"
    elif target.startswith("native>"):
        ref, bound, text = "native", float(target[7:]), "> native"
    elif target.startswith("crashfs<"):
        ref, bound = None, float(target[8:])
        text = f"< {target[8:]}"
    elif target.startswith("crashfs>"):
        ref, bound = None, float(target[8:])
        text = f">= {float(target[8:]):,.0f}"
    elif target.startswith("ratio>="):
        ref, bound = None, float(target[7:])
        text = f">= {target[7:]}x"
    else:
        raise SystemExit(f"table.py: unknown target '{target}'")
    own = cells.get("crashfs")
    if not isinstance(own, float):
        return text, "n/a"
    if ref is None:
        ok = (own >= bound if target.startswith(("crashfs>", "ratio>="))
              else own < bound)
        return text, "PASS" if ok else "MISS"
    base = cells.get(ref)
    if not isinstance(base, float) or base == 0:
        return text, "n/a"
    ratio = own / base
    if target.startswith("pt<="):
        ok = ratio <= bound
    else:
        ok = (ratio >= bound if target.startswith(("pt>=", "lazyfs>="))
              else ratio > bound)
    return text, "PASS" if ok else "MISS"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows, sections = [], {}
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "section":
                sections[len(rows)] = parts[1]
            else:
                rows.append(parts)
    runs, errors = {}, {}
    with open(sys.argv[2]) as f:
        for line in f:
            row, target, value = line.rstrip("\n").split("\t", 2)
            if value.startswith("!"):
                errors.setdefault((row, target), value[1:])
            else:
                runs.setdefault((row, target), []).append(float(value))

    seen = {t for (_, t) in list(runs) + list(errors)}
    extra = tuple(t for t in OPTIONAL if t in seen)
    targets = TARGETS + extra
    headers = headers_for(extra)
    table, worst, notes, notes_seen = [], 0, [], set()
    range_lines = {}
    for i, (row, label, unit, target) in enumerate(rows):
        if i in sections:
            table.append(("section", sections[i]))
            range_lines[len(table) - 1] = []
        line_ = ranges(label, unit, runs, row)
        if line_ and range_lines:
            range_lines[max(range_lines)].append(line_)
        cells, texts = {}, []
        for t in targets:
            if (row, t) in errors:
                short, _, why = errors[(row, t)].partition("|")
                cells[t] = "error"
                texts.append(short)
                if why and why not in notes_seen:
                    notes_seen.add(why)
                    notes.append(f"{label}, {t}: {why}")
            elif (row, t) in runs:
                cells[t] = statistics.median(runs[(row, t)])
                texts.append(fmt(cells[t], unit))
            else:
                texts.append("-")
        ratios = []
        for ref in ("pt", "native") + extra:
            own, base = cells.get("crashfs"), cells.get(ref)
            if isinstance(own, float) and isinstance(base, float) and base:
                ratios.append(f"{own / base:.2f}x")
            else:
                ratios.append("-")
        ttext, status = judge(target, cells)
        if status == "MISS":
            worst = max(worst, 1)
        elif status == "n/a":
            worst = 2
        table.append(("row", [label] + texts + ratios + [ttext, status]))

    widths = [len(h) for h in headers]
    for kind, cols in table:
        if kind == "row":
            widths = [max(w, len(c)) for w, c in zip(widths, cols)]

    def line(cols):
        out = [cols[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cols[1:-2], widths[1:-2])]
        out += [cols[-2].ljust(widths[-2]), cols[-1]]
        return "  ".join(out).rstrip()

    rule = "-" * len(line(headers))
    pending = []
    for i, (kind, cols) in enumerate(table):
        if kind == "section":
            for r in pending:
                print(r)
            pending = range_lines.get(i, [])
            if pending:
                pending = ["", "Ranges (lowest-highest run):"] + pending
            print()
            print(cols)
            print(line(headers))
            print(rule)
        else:
            print(line(cols))
    for r in pending:
        print(r)
    print()
    print("Each figure is the median of its runs (all runs: see above).")
    for note in notes:
        print(f"  note: {note}")
    sys.exit(worst)


if __name__ == "__main__":
    main()
