"""Pages that give only an agency's psych code: how many a model reads as psychosis.

    python tools/header_only_check.py [--model default@2.10.0]

The taxonomy reads a psych code with nothing more specific as `psychosis`. This is a
designed check, not accuracy: the codes are the generator's and the lexicon's own. README,
"Tried at stop 29", gives the measured counts (2.10.0 and 2.11.0: 23 of 96; 2.15.0: 79, 2.16.0: 91).
"""

import argparse
import itertools

from crisis_nlp import load_model

CODES = ["PSYCH", "EDP", "10-96", "MENTAL", "MENTAL SUBJ", "PSYCH CALL", "E.D.P.", "DISTURBED PERSON",
         "EMOTIONALLY DISTURBED PERSON", "5150", "MENTAL HEALTH CALL", "CIT CALL", "BH CALL", "PSYCH EVAL",
         "25A01", "25B06"]
WRAPPINGS = ["{h}", "{h} // 1200 ELM ST APT 4", "{h} - 400 N MAIN ST / 3RD AVE - CB 555-0100",
             "*** {h} *** 88 OAK AVE, UNIT 2 / E12 ENRT 14:02:10",
             "CALL TYPE: {h} / LOC: IFO SHELL STATION, 5TH AVE / 1 M UNK",
             "{h}\nLocation: 17 PINE RD\nCall Date/Time: 03/04/2025 02:11:40"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model spec (default: the registry's default)")
    args = ap.parse_args()
    model = load_model(args.model)
    pairs = list(itertools.product(CODES, WRAPPINGS))
    results = model.classify_batch([w.format(h=h) for h, w in pairs], explain=False)
    found = ["psychosis" in r.categories for r in results]
    print(f"model {model.version}: {sum(found)} of {len(found)} header-only pages read as psychosis")
    for code in CODES:
        hits = sum(f for (h, _), f in zip(pairs, found) if h == code)
        print(f"  {code:<30} {hits} of {len(WRAPPINGS)}")


if __name__ == "__main__":
    main()
