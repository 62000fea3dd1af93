#!/usr/bin/env bash
# Documents with a case (issue 21), across three brokers on loopback with
# real workers in XA and XC:
#  1. document_15mib_pdf_arrives_intact_through_broker_restart: a generated
#     15 MiB PDF goes with a referral; shelter A is offered it and
#     declines, shelter B accepts; broker.xc is killed (-9) and restarted
#     while the chunks travel; `haven attachment save` at shelter B gives
#     the same bytes, and no file of shelter A, the router or a broker holds
#     any of them (a 64-byte sample of the document, and the person's name);
#  2. document_type_from_content_not_name: a PNG named .pdf is listed as
#     image/png; an HTML page named .pdf is refused, the file named, and
#     nothing is submitted;
#  3. document_over_limit_refused: a document over attachment_max_mib, and
#     documents over case_attachments_max_mib together, are refused with
#     the file and the limit named;
#  4. document_erased_with_the_case: after the withdrawal, shelter B's files
#     hold none of the document's bytes, and its list is gone.
# Needs jq and python3.
# usage: test_documents.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
for n in broker-xc broker-xa router shelter-a shelter-b intake; do start "$n"; done

# The documents, generated: a PDF of 15 MiB of printable text (so that a
# sample of it is a string to scan for), a small PNG, an HTML page.
python3 - <<'PY'
import random, struct, zlib
rnd = random.Random(21)
size = 15 * 1024 * 1024
head, tail = b"%PDF-1.7\n", b"\n%%EOF\n"
alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
body = bytes(rnd.choice(alphabet) for _ in range(1 << 16))
parts, n = [], size - len(head) - len(tail)
while n > 0:
    k = min(n, len(body))
    parts.append(body[:k])
    body = body[37:] + body[:37]  # each 64 KiB differs from the last
    n -= k
open("report.pdf", "wb").write(head + b"".join(parts) + tail)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
open("photo.pdf", "wb").write(png)
open("letter.pdf", "wb").write(b"<!DOCTYPE html><html><body>not a PDF</body></html>\n")
PY
sample=$(dd if=report.pdf bs=1 skip=$((7 * 1024 * 1024 + 11)) count=64 2>/dev/null)
[ ${#sample} -eq 64 ] && ok || bad "no 64-byte sample of the document"
with_docs() { # with_docs OUT FILE:TITLE...: the example referral with these attachments
  local out=$1 list="[]" f
  shift
  for f in "$@"; do
    list=$(jq -c --arg f "${f%%:*}" --arg t "${f#*:}" '. + [{file: $f, title: $t}]' <<<"$list")
  done
  jq --argjson a "$list" '. + {schema: "haven-referral/2", attachments: $a}' "$example" > "$out"
}
docs() { "$haven" attachment list --json --config "$1.ini" "$2" 2>/dev/null; }
doc_state() { docs "$1" "$2" | jq -r ".result.items[] | select(.n == $3) | .state"; }
doc_have() { docs "$1" "$2" | jq -r ".result.items[] | select(.n == $3) | .have"; }
have_at_least() { [ "$(doc_have "$1" "$2" "$3")" -ge "$4" ] 2>/dev/null; }

# ---- 1. document_15mib_pdf_arrives_intact_through_broker_restart
with_docs case1.json "report.pdf:Medical report" "photo.pdf:Photograph"
id=$(submit case1.json)
[ ${#id} -eq 32 ] && ok || bad "submit with documents gave no id: '$id'"
expect 0 "sending (0 of 60 chunks)" "$haven" attachment list --config intake.ini "$id"
wait_until 15 is offered offer_state shelter-a "$id"
expect 0 "declined" "$haven" inbox decline --config shelter-a.ini "$id" --reason no_capacity
wait_until 15 is offered offer_state shelter-b "$id"
expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$id"
wait_until 15 is received case_state shelter-b "$id"
# Midway: a quarter of the chunks are at shelter B when broker.xc dies.
wait_until 60 have_at_least shelter-b "$id" 1 15
[ "$(doc_state shelter-b "$id" 1)" = incomplete ] && ok || bad "the PDF was whole before the restart"
expect 0 "chunks" "$haven" attachment list --config shelter-b.ini "$id"
expect 1 "no complete document 1" "$haven" attachment save --config shelter-b.ini "$id" 1 --out early.pdf
[ ! -e early.pdf ] && ok || bad "a partial document was written"
kill9 broker-xc
start broker-xc
wait_until 120 is complete doc_state shelter-b "$id" 1
wait_until 30 is complete doc_state shelter-b "$id" 2
expect 0 "written to got.pdf" "$haven" attachment save --config shelter-b.ini "$id" 1 --out got.pdf
cmp -s report.pdf got.pdf && ok || bad "the document saved differs from the one sent"
[ "$(stat -c %a got.pdf)" = 600 ] && ok || bad "saved document is mode $(stat -c %a got.pdf)"
expect 1 "HV_EEXIST" "$haven" attachment save --config shelter-b.ini "$id" 1 --out got.pdf
cmp -s report.pdf got.pdf && ok || bad "an existing file was overwritten"
want=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' report.pdf)
[ "$(docs shelter-b "$id" | jq -r '.result.items[0].digest')" = "$want" ] && ok ||
  bad "the listed digest is not the document's BLAKE2b-256"
wait_until 15 is "sent" doc_state intake "$id" 1
expect 0 "sent (60 of 60 chunks)" "$haven" attachment list --config intake.ini "$id"
# ---- 2. document_type_from_content_not_name
[ "$(docs shelter-b "$id" | jq -r '.result.items[1] | "\(.name) \(.type) \(.title)"')" = \
  "photo.pdf image/png Photograph" ] && ok || bad "the PNG named .pdf: $(docs shelter-b "$id")"
[ "$(docs shelter-b "$id" | jq -r '.result.items[0].type')" = application/pdf ] && ok ||
  bad "the PDF is not listed as application/pdf"
with_docs html.json "letter.pdf:Letter"
before=$("$haven" referral list --json --config intake.ini | jq '.result.referrals | length')
expect 1 "attachments[0] (letter.pdf) is not a PDF, JPEG or PNG document by its content" \
  "$haven" referral submit --config intake.ini html.json
expect 1 "HV_ETYPE" "$haven" referral submit --config intake.ini html.json
after=$("$haven" referral list --json --config intake.ini | jq '.result.referrals | length')
[ "$before" = "$after" ] && ok || bad "a referral with a refused document was submitted ($before -> $after)"
# ---- 3. document_over_limit_refused
truncate -s 21M big.pdf
with_docs big.json "big.pdf:Too big"
expect 1 "big.pdf is 21.0 MiB; a document may be at most 20.0 MiB (attachment_max_mib)" \
  "$haven" referral submit --config intake.ini big.json
expect 1 "HV_ETOOBIG" "$haven" referral submit --config intake.ini big.json
# Each within the limit of a document, together over the case's.
stop intake
printf '[intake]\ncase_attachments_max_mib = 20\n' >> intake.ini
start intake
cp report.pdf report2.pdf
with_docs two.json "report.pdf:One" "report2.pdf:Two"
expect 1 "attachments[1] (report2.pdf) brings the case's documents to 30.0 MiB; a case may carry at most 20.0 MiB (case_attachments_max_mib)" \
  "$haven" referral submit --config intake.ini two.json
after2=$("$haven" referral list --json --config intake.ini | jq '.result.referrals | length')
[ "$before" = "$after2" ] && ok || bad "a referral over the limits was submitted"
# The case's files at every node that is not its recipient: nothing of the
# person, nothing of the document.
scan() { /usr/bin/python3 "$here/scan_secrets.py" --secret Amina --secret Example-Testcase \
  --secret "Mina T." --secret 1998-04-17 --secret "555 0100" --secret "$sample" "$@"; }
expect 0 "clean:" scan shelter-a.* router.* broker-xa.* broker-xc.*
# ---- 4. document_erased_with_the_case
hexid=$(tr a-f A-F <<<"$id")
doc_rows() {
  sqlite3 shelter-b.db "SELECT (SELECT count(*) FROM attach_docs WHERE hex(referral) = '$hexid') +
    (SELECT count(*) FROM attach_chunks WHERE hex(referral) = '$hexid')"
}
# Held sealed at rest: rows, but not the bytes in the clear.
[ "$(doc_rows)" = 63 ] && ok || bad "shelter B holds $(doc_rows) rows of documents, not 2 + 61"
expect 0 "clean:" scan shelter-b.*
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$id" \
  --reason "consent withdrawn by the person"
wait_until 15 is withdrawn intake_state "$id"
[ "$(docs shelter-b "$id" | jq '.result.items | length')" = 0 ] && ok ||
  bad "shelter B still lists documents of the withdrawn case"
[ "$(doc_rows)" = 0 ] && ok || bad "shelter B still has $(doc_rows) rows of the withdrawn case's documents"
stop_all_and_check_logs
expect 0 "clean:" scan shelter-a.* shelter-b.* router.* broker-xa.* broker-xc.*
finish
