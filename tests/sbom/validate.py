#!/usr/bin/python3
"""Validate an SPDX 2.3 JSON document.

usage: validate.py [--image DISK] SBOM...

1. JSON Schema (draft-07, python3-jsonschema) with spdx-2.3.schema.json beside
   this file: undistro's transcription of the SPDX 2.3 specification (the
   official schema file is not in Debian's archive or the npm registry; see
   tests/sbom/README.md).
2. What a schema cannot say (SPDX 2.3 clauses 6-11, Annex D):
   - every SPDXID is unique; every relationship end and documentDescribes
     entry names an element of the document (or NONE/NOASSERTION, or an
     external DocumentRef declared in externalDocumentRefs);
   - the document DESCRIBES at least one element;
   - every license field is NONE, NOASSERTION or a license expression
     (Annex D grammar) whose ids are on the SPDX license list, whose
     exceptions are on the exception list (Debian's node-spdx-license-ids and
     node-spdx-exceptions; deprecated ids are refused), and whose
     LicenseRef-s are declared in hasExtractedLicensingInfos (once each).
3. With --image DISK: the described package's SHA256 is DISK's sha256.
Prints every problem found; exit status 0 when there is none, 1 otherwise,
2 on usage or a missing dependency.
"""
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LICENSES = "/usr/share/nodejs/spdx-license-ids/index.json"
DEPRECATED = "/usr/share/nodejs/spdx-license-ids/deprecated.json"
EXCEPTIONS = "/usr/share/nodejs/spdx-exceptions/index.json"
IDSTRING = r"[A-Za-z0-9.-]+"


def die(msg):
    print("validate.py: " + msg, file=sys.stderr)
    sys.exit(2)


def load_lists():
    try:
        with open(LICENSES) as f:
            ids = set(json.load(f))
        with open(DEPRECATED) as f:
            deprecated = set(json.load(f))
        with open(EXCEPTIONS) as f:
            exceptions = set(json.load(f))
    except OSError as e:
        die("%s: install node-spdx-license-ids and node-spdx-exceptions (ci/install-deps)" % e)
    return ids, deprecated, exceptions


class Expr:
    """Annex D: simple = id ['+'] | [DocumentRef-x:]LicenseRef-y;
    compound = simple [WITH exception] | compound (AND|OR) compound | '(' compound ')'."""

    def __init__(self, text, lists):
        self.toks = re.findall(r"\(|\)|[^\s()]+", text)
        self.i = 0
        self.ids, self.deprecated, self.exceptions = lists
        self.refs = []
        self.errors = []

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        if not self.toks:
            return ["empty license expression"]
        self.compound()
        if self.peek() is not None:
            self.errors.append("unexpected '%s'" % self.peek())
        return self.errors

    def compound(self):
        self.term()
        while self.peek() in ("AND", "OR"):
            self.take()
            self.term()

    def term(self):
        t = self.take()
        if t == "(":
            self.compound()
            if self.take() != ")":
                self.errors.append("missing ')'")
            return
        self.simple(t)
        if self.peek() == "WITH":
            self.take()
            e = self.take()
            if e not in self.exceptions:
                self.errors.append("'%s' is not an SPDX license exception" % e)

    def simple(self, t):
        if t is None or t in ("AND", "OR", "WITH", ")"):
            self.errors.append("expected a license id, found %s" % ("the end" if t is None else "'%s'" % t))
            return
        m = re.fullmatch(r"(DocumentRef-%s:)?(LicenseRef-%s)" % (IDSTRING, IDSTRING), t)
        if m:
            self.refs.append((m.group(1), m.group(2)))
            return
        lid = t[:-1] if t.endswith("+") else t
        if lid in self.deprecated:
            self.errors.append("'%s' is a deprecated SPDX license id" % lid)
        elif lid not in self.ids:
            self.errors.append("'%s' is not an SPDX license id (use LicenseRef-... for others)" % lid)


def check_licenses(doc, lists, problems):
    declared = [x.get("licenseId") for x in doc.get("hasExtractedLicensingInfos", [])]
    for d in sorted(set(x for x in declared if declared.count(x) > 1)):
        problems.append("hasExtractedLicensingInfos: %s declared more than once" % d)
    extdocs = {x.get("externalDocumentId") for x in doc.get("externalDocumentRefs", [])}
    for p in doc.get("packages", []):
        values = [(k, p[k]) for k in ("licenseConcluded", "licenseDeclared") if k in p]
        values += [("licenseInfoFromFiles", v) for v in p.get("licenseInfoFromFiles", [])]
        for key, v in values:
            if v in ("NONE", "NOASSERTION"):
                continue
            e = Expr(v, lists)
            for msg in e.parse():
                problems.append("package %s: %s '%s': %s" % (p.get("SPDXID"), key, v, msg))
            for docref, ref in e.refs:
                if docref is None and ref not in declared:
                    problems.append("package %s: %s uses %s, which hasExtractedLicensingInfos does not declare"
                                    % (p.get("SPDXID"), key, ref))
                if docref is not None and docref[:-1] not in extdocs:
                    problems.append("package %s: %s: %s is not in externalDocumentRefs"
                                    % (p.get("SPDXID"), key, docref[:-1]))


def check_refs(doc, problems):
    ids = ["SPDXRef-DOCUMENT"]
    for kind in ("packages", "files", "snippets"):
        ids += [x.get("SPDXID") for x in doc.get(kind, [])]
    for d in sorted(set(x for x in ids if ids.count(x) > 1)):
        problems.append("SPDXID %s is used more than once" % d)
    extdocs = {x.get("externalDocumentId") for x in doc.get("externalDocumentRefs", [])}

    def known(ref):
        if ref in ("NONE", "NOASSERTION") or ref in ids:
            return True
        return ":" in ref and ref.split(":", 1)[0] in extdocs

    for r in doc.get("relationships", []):
        for end in ("spdxElementId", "relatedSpdxElement"):
            if not known(r.get(end, "")):
                problems.append("relationship %s %s %s: %s is not an element of the document"
                                % (r.get("spdxElementId"), r.get("relationshipType"),
                                   r.get("relatedSpdxElement"), r.get(end)))
    for d in doc.get("documentDescribes", []):
        if not known(d):
            problems.append("documentDescribes: %s is not an element of the document" % d)
    described = [r for r in doc.get("relationships", [])
                 if r.get("spdxElementId") == "SPDXRef-DOCUMENT" and r.get("relationshipType") == "DESCRIBES"]
    if not described and not doc.get("documentDescribes"):
        problems.append("the document DESCRIBES nothing")
    return described


def check_image(doc, described, image, problems):
    h = hashlib.sha256()
    with open(image, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    want = h.hexdigest()
    targets = [r["relatedSpdxElement"] for r in described] + doc.get("documentDescribes", [])
    for p in doc.get("packages", []):
        if p.get("SPDXID") in targets:
            sums = [c["checksumValue"] for c in p.get("checksums", []) if c.get("algorithm") == "SHA256"]
            if sums != [want]:
                problems.append("package %s: SHA256 %s, but %s has %s" % (p["SPDXID"], sums, image, want))
            return
    problems.append("no described package to carry the image's checksum")


def validate(path, schema, lists, image):
    import jsonschema

    problems = []
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return ["%s" % e]
    v = jsonschema.Draft7Validator(schema)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        problems.append("schema: /%s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
    if problems:
        return problems
    described = check_refs(doc, problems)
    check_licenses(doc, lists, problems)
    if image:
        check_image(doc, described, image, problems)
    return problems


def main(argv):
    image = None
    if len(argv) >= 2 and argv[0] == "--image":
        image, argv = argv[1], argv[2:]
    if not argv or argv[0].startswith("-"):
        die("usage: validate.py [--image DISK] SBOM...")
    try:
        import jsonschema
    except ImportError:
        die("python3-jsonschema is not installed (ci/install-deps)")
    with open(os.path.join(HERE, "spdx-2.3.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    lists = load_lists()
    bad = 0
    for path in argv:
        problems = validate(path, schema, lists, image)
        for p in problems:
            print("%s: %s" % (path, p))
        if problems:
            bad += 1
        else:
            print("%s: valid SPDX 2.3" % path)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
