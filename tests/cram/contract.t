  $ . "$TESTDIR/setup.sh"

A contract says what a lane's records must look like. This one is for a web shop's requests:

  $ cat > web.ben <<'BEN'
  > # what the web tier promises to send
  > contract web version 3 window 1m
  > 
  > lane event {
  >   kind http.request closed {
  >     field value: float required range 0..60000 unit ms
  >     attr method: enum(GET, POST, PUT) required
  >     attr status: int range 100..599 required
  >     attr route: string maxlen 64 pattern "^/" cardinality 3
  >     attr client: ip pii ipv4
  >     attr user: string pii email
  >     attr legacy_ms: float deprecated since 2 use value
  >   }
  > }
  > 
  > lane control signed {
  >   kind "key.*" { field body: string required }
  > }
  > BEN
  $ ben contract check web.ben
  ben contract check: web.ben: ok

Mistakes are shown where they are, with a caret and the closest correct word; check exits 1:

  $ printf 'lane evnt {\n  kind http.request {\n    field value: flaot required\n    attr user: string pii emial\n  }\n}\n' > typo.ben
  $ ben contract check typo.ben
  typo.ben:1:6: unknown lane 'evnt'; did you mean 'event'? (lanes: diag, event, control)
      lane evnt {
           ^^^^
  typo.ben:3:18: unknown type 'flaot'; did you mean 'float'? (types: string, int, float, bool, time, enum, ip, duration)
          field value: flaot required
                       ^^^^^
  typo.ben:4:27: unknown kind of personal data 'emial'; did you mean 'email'?
          attr user: string pii emial
                                ^^^^^
  [1]
  $ ben contract check typo.ben web.ben -q 2> /dev/null; echo "exit $?"
  exit 1
  $ printf 'lane event {\n  kind http.request {\n    field value: float requird\n  }\n}\n' > syntax.ben
  $ ben contract check syntax.ben
  syntax.ben:3:24: unknown modifier 'requird'; did you mean 'required'?
          field value: float requird
                             ^^^^^^^
  [1]
  $ printf 'lane event { kind x { field a: int range 9..1 maxlen 3 } }\n' > bad.ben
  $ ben contract check bad.ben
  bad.ben:1:36: the range's low end 9 is above its high end 1
      lane event { kind x { field a: int range 9..1 maxlen 3 } }
                                         ^^^^^
  bad.ben:1:47: maxlen is for strings, not int
      lane event { kind x { field a: int range 9..1 maxlen 3 } }
                                                    ^^^^^^
  [1]
  $ printf 'lane event {\n  kind x {\n    field a: string pattern "^(a"\n    attr b: int cardinality 0\n  }\n}\n' > bad2.ben
  $ ben contract check bad2.ben
  bad2.ben:3:29: the pattern is not a regular expression: missing ), unterminated subpattern at position 1
          field a: string pattern "^(a"
                                  ^^^^^
  bad2.ben:4:17: a cardinality limit is at least 1
          attr b: int cardinality 0
                      ^^^^^^^^^^^
  [1]
  $ printf 'lane event { kind "x { } }\n' > open.ben
  $ ben contract check open.ben
  open.ben:1:19: a string that never ends (a " is missing on this line)
      lane event { kind "x { } }
                        ^^^^^^^^
  [1]
  $ cat > more.ben <<'BEN'
  > contract shop version 2 window 5q
  > lane event signed {
  >   kind x window 0s { field a: enum  field a: int deprecated since 4 }
  >   kind x { }
  > }
  > lane event { }
  > BEN
  $ ben contract check more.ben
  more.ben:1:32: not a duration: '5q' (try 500ms, 90s, 15m, 1h30m, 2d or 1w)
      contract shop version 2 window 5q
                                     ^^
  more.ben:2:12: 'signed' is for the control lane (instructions to the system)
      lane event signed {
                 ^^^^^^
  more.ben:3:17: a window must be longer than zero
        kind x window 0s { field a: enum  field a: int deprecated since 4 }
                      ^^
  more.ben:3:31: an enum needs its values: enum(GET, POST)
        kind x window 0s { field a: enum  field a: int deprecated since 4 }
                                    ^^^^
  more.ben:3:43: field 'a' is declared twice in kind 'x' (first on line 3)
        kind x window 0s { field a: enum  field a: int deprecated since 4 }
                                                ^
  more.ben:3:50: deprecated since version 4, but the contract is version 2
        kind x window 0s { field a: enum  field a: int deprecated since 4 }
                                                       ^^^^^^^^^^
  more.ben:4:8: kind 'x' is declared twice in lane 'event' (first on line 3)
        kind x { }
             ^
  more.ben:6:6: lane 'event' is declared twice (first on line 2)
      lane event { }
           ^^^^^
  [1]
  $ printf 'lane event { kind x { field a: int } }\nkind y { }\n' > stray.ben
  $ ben contract check stray.ben
  stray.ben:2:1: expected 'lane', found 'kind'
      kind y { }
      ^^^^
  [1]
  $ ben contract check missing.ben; echo "exit $?"
  ben contract check: cannot read the contract missing.ben: [Errno 2] No such file or directory: 'missing.ben'
  exit 2

fmt lays a contract out one way (comments kept), and doing it twice changes nothing:

  $ printf '# mine\ncontract   web\nlane event{kind "http.*"{field value:float required\n attr m : enum( GET,"P Q" , 5) # methods\n}}\n' > messy.ben
  $ ben contract fmt messy.ben
  # mine
  contract web
  
  lane event {
    kind http.* {
      field value: float required
      attr m: enum(GET, "P Q", 5)
      # methods
    }
  }
  $ ben contract fmt messy.ben > tidy.ben && ben contract fmt --check tidy.ben && echo canonical
  canonical
  $ ben contract fmt --check messy.ben; echo "exit $?"
  ben contract fmt: messy.ben: not in canonical layout
  exit 1
  $ ben contract fmt --write messy.ben && cmp messy.ben tidy.ben && echo rewritten
  rewritten

validate is a filter: records that keep the contract go on; the others go to --rejects with the
rule, the field, the value and the contract's file:line:

  $ cat > records.ndjson <<'EOF2'
  > {"ts":"2026-11-25T10:00:01Z","lane":"event","name":"http.request","value":12.5,"attrs":{"method":"GET","status":200,"route":"/a","client":"10.0.0.1"}}
  > {"ts":"2026-11-25T10:00:02Z","lane":"event","name":"http.request","value":-3,"attrs":{"method":"PATCH","status":200,"route":"/b"}}
  > {"ts":"2026-11-25T10:00:03Z","lane":"event","name":"http.request","value":"fast","attrs":{"method":"GET","status":200,"route":"/c","email":"ann@example.com"}}
  > {"ts":"2026-11-25T10:00:04Z","lane":"event","name":"http.request","value":8,"attrs":{"method":"GET","status":200,"route":"/d","legacy_ms":8}}
  > {"ts":"2026-11-25T10:00:05Z","lane":"event","name":"http.request","value":9,"attrs":{"method":"GET","status":200,"route":"/e"}}
  > {"ts":"2026-11-25T10:00:06Z","lane":"control","name":"key.rotate","body":"rotate k1"}
  > {"ts":"2026-11-25T10:00:07Z","lane":"diag","name":"cpu.usage","value":"anything"}
  > EOF2
  $ ben contract validate web.ben records.ndjson --rejects rejects.ndjson | jq -c '[.name, .value]'
  ben contract: attrs.route of event http.request: more than 3 values in the window from 2026-11-25T10:00:00Z; 2 records past the limit, most: /d (1), /e (1)
  ben contract: read 7, wrote 2, rejected 5, violating 5, deprecated 0, overflows 1
    rejected records.ndjson:2: contract: range value=-3 (web.ben:6); enum attrs.method="PATCH" (web.ben:7)
    rejected records.ndjson:3: contract: type value="fast" (web.ben:6); closed attrs.email="ann@example.com" (web.ben:5)
    rejected records.ndjson:4: contract: deprecated attrs.legacy_ms=8 (web.ben:12); cardinality attrs.route="/d" (web.ben:9)
    rejected records.ndjson:5: contract: cardinality attrs.route="/e" (web.ben:9)
    rejected records.ndjson:6: contract: signed sig=missing (web.ben:16)
  ["http.request",12.5]
  ["cpu.usage","anything"]
  $ jq -c '[.line, [.violations[] | [.rule, .field, .value, .at]]]' rejects.ndjson
  [2,[["range","value",-3,"web.ben:6"],["enum","attrs.method","PATCH","web.ben:7"]]]
  [3,[["type","value","fast","web.ben:6"],["closed","attrs.email","ann@example.com","web.ben:5"]]]
  [4,[["deprecated","attrs.legacy_ms",8,"web.ben:12"],["cardinality","attrs.route","/d","web.ben:9"]]]
  [5,[["cardinality","attrs.route","/e","web.ben:9"]]]
  [6,[["signed","sig",null,"web.ben:16"]]]

--mode warn passes every record, marked with its violations (a deprecated field is only ever marked):

  $ ben contract validate -q --mode warn web.ben records.ndjson | jq -c 'select(.contract) | [.value, [.contract.violations[].rule]]'
  [-3,["range","enum"]]
  ["fast",["type","closed"]]
  [8,["deprecated","cardinality"]]
  [9,["cardinality"]]
  [null,["signed"]]

ben ingest --contract holds records to it as they are read; --strict makes the first broken one fatal:

  $ ben ingest --contract web.ben records.ndjson > /dev/null
  ben ingest: records.ndjson: format ndjson (from 7 lines)
  ben ingest: contract: attrs.route of event http.request: more than 3 values in the window from 2026-11-25T10:00:00Z; 1 records past the limit, most: /e (1)
  ben ingest: read 7, wrote 2, rejected 5
    rejected records.ndjson:2: contract: range value=-3 (web.ben:6); enum attrs.method="PATCH" (web.ben:7)
    rejected records.ndjson:3: field 'value' must be a finite number, got "fast"
    rejected records.ndjson:5: contract: cardinality attrs.route="/e" (web.ben:9)
    rejected records.ndjson:6: contract: signed sig=missing (web.ben:16)
    rejected records.ndjson:7: field 'value' must be a finite number, got "anything"
  ben ingest: contract: broken 3, deprecated 1, overflows 1
  $ ben ingest -q --contract web.ben --strict records.ndjson > /dev/null; echo "exit $?"
  ben ingest: records.ndjson:2: contract: range value=-3 (web.ben:6); enum attrs.method="PATCH" (web.ben:7)
  exit 1
A contract with mistakes stops ingest before it reads a line, with the same diagnostics as check:

  $ ben ingest -q --contract typo.ben records.ndjson 2> ingest-errors.txt; echo "exit $?"
  exit 2
  $ ben contract check typo.ben 2> check-errors.txt; diff check-errors.txt ingest-errors.txt && wc -l < ingest-errors.txt
  9
  $ ben ingest -q --contract web.ben --contract-mode loud records.ndjson; echo "exit $?"
  ben ingest: Invalid value for --contract-mode: must be reject or warn
  exit 2

compile turns a contract into a Python validator, a JSON Schema, or ClickHouse views:

  $ ben contract compile web.ben | grep -A 8 '^def _kind0'
  def _kind0(rec, out):  # 'event http.request'
      v = rec.get('value', _M)
      if v is _M:
          out.append(('required', 'value', None, 6))
      elif not (type(v) is int or type(v) is float):
          out.append(('type', 'value', v, 6))
      else:
          if not (0 <= v <= 60000):
              out.append(('range', 'value', v, 6))
  $ ben contract compile --to jsonschema web.ben | jq -c '."$defs".k0.properties.attrs.properties.route'
  {"type":"string","maxLength":64,"pattern":"^/","x-cardinality":3}
  $ ben contract compile --to clickhouse --schema legacy web.ben | sed -n '1,12p'
  CREATE VIEW IF NOT EXISTS `ben`.`telemetry_event_http_request` AS
  SELECT
      ts,
      source,
      name,
      value AS `value`,
      attrs.value[indexOf(attrs.key, 'method')] AS `attrs_method`,
      toInt64OrNull(attrs.value[indexOf(attrs.key, 'status')]) AS `attrs_status`,
      attrs.value[indexOf(attrs.key, 'route')] AS `attrs_route`,
      attrs.value[indexOf(attrs.key, 'client')] AS `attrs_client`,
      attrs.value[indexOf(attrs.key, 'user')] AS `attrs_user`,
      toFloat64OrNull(attrs.value[indexOf(attrs.key, 'legacy_ms')]) AS `attrs_legacy_ms`
  $ ben contract compile --to scrub web.ben > fields.toml && cat fields.toml
  # Field rules from the contract web.ben (ben contract compile --to scrub): add them to a
  # scrub policy (ben scrub --print-policy > policy.toml) and run ben scrub --policy policy.toml.
  
  [[field]]
  path = "attrs.client"
  action = "truncate"
  entity = "ipv4"
  
  [[field]]
  path = "attrs.user"
  action = "pseudonym"
  entity = "email"
  $ echo '{"lane":"event","name":"http.request","attrs":{"user":"ann@example.com","client":"10.1.2.3"}}' | ben scrub -q --policy fields.toml | jq -c '[.attrs.client, (.attrs.user | test("^<EMAIL:[0-9a-f]{16}>@example.com$")), .redacted]'
  ["10.1.2.0/24",true,["email","ipv4"]]
  $ ben contract compile --to yaml web.ben; echo "exit $?"
  ben contract compile: --to is one of python, jsonschema, clickhouse, scrub, not 'yaml'
  exit 2
  $ ben db init --to clickhouse://127.0.0.1/shop --schema modern --print --contract web.ben | grep -A 3 'CREATE VIEW'
  CREATE VIEW IF NOT EXISTS `shop`.`telemetry_event_http_request` AS
  SELECT
      ts,
      source,
  --
  CREATE VIEW IF NOT EXISTS `shop`.`telemetry_control_key_any` AS
  SELECT
      ts,
      source,

infer writes a starting contract from records; it validates them:

  $ ben ingest -q "$DATA/sample-app.ndjson" > app.ndjson
  $ ben contract infer --name app app.ndjson > app.ben
  ben contract infer: read 600, described 600, rejected 0
  $ head -12 app.ben
  # inferred by ben contract infer from 600 records: a starting point to edit
  contract app version 1
  
  lane diag {
    kind http.request {
      field body: string required
      field severity: enum(error, info) required
      field source: string required
      field ts: time required
      field unit: enum(ms) required
      field value: float required range 0..500
    }
  $ ben contract validate app.ben app.ndjson > /dev/null
  ben contract: read 600, wrote 600, rejected 0, violating 0, deprecated 0, overflows 0

diff says which changes break producers, and exits 1 when one does:

  $ sed -e 's/range 0..60000/range 0..1000/' -e 's/enum(GET, POST, PUT)/enum(GET, POST, PUT, DELETE)/' -e 's/attr user: string/attr user: string required/' web.ben > web4.ben
  $ ben contract diff web.ben web4.ben; echo "exit $?"
  {"effect":"breaks","change":"range narrowed","lane":"event","kind":"http.request","field":"value","at":"web4.ben:6"}
  {"effect":"safe","change":"enum values added: DELETE","lane":"event","kind":"http.request","field":"attrs.method","at":"web4.ben:7"}
  {"effect":"breaks","change":"now required","lane":"event","kind":"http.request","field":"attrs.user","at":"web4.ben:11"}
  {"effect":"breaks","change":"breaking changes, but the version stays 3 (was 3)","lane":"*","at":"web4.ben:2"}
  exit 1
  $ ben contract diff web.ben web.ben; echo "exit $?"
  exit 0

Signed lanes: a control record must carry a sig made by a key whose certificate (usage sign, lane
control) the CA issued and has not revoked: the CA of --trust and --crl, or by default this
machine's CA (ben ca init), as here. ben key sign --cert signs each record on its own:

  $ export BEN_HOME="$CRAMTMP/contract-home" BEN_PASSPHRASE='correct horse battery'
  $ ben ca init --name acme-bees --cost interactive > /dev/null 2>&1

  $ ben key gen -q --out ops > /dev/null && ben key gen -q --type x25519 --out ops-x > /dev/null
  $ ben ca issue --name ops --pub ops-x.pub --sign-pub ops.pub --lanes control --usage sign --ttl 30d > ops.cert 2> /dev/null
  $ ben ca issue --name web --pub ops-x.pub --sign-pub ops.pub --lanes diag,event --usage sign --ttl 30d > web.cert 2> /dev/null
  $ ben ca issue --name client --pub ops-x.pub --sign-pub ops.pub --lanes control --usage client --ttl 30d > client.cert 2> /dev/null
  $ sed -n 6p records.ndjson > rotate.ndjson
  $ ben key sign -k ops.key --cert ops.cert rotate.ndjson > signed.ndjson
  ben key sign: read 1, wrote 1, rejected 0
  $ jq -c '[.name, (.sig | keys), (.sig.cert | split("\n")[0])]' signed.ndjson
  ["key.rotate",["cert","ed25519"],"ben-cert-v1"]
  $ ben contract validate -q web.ben signed.ndjson | jq -c '[.name, .body]'
  ["key.rotate","rotate k1"]

Each way a signature fails is a violation of rule signed, with its reason:

  $ ben key sign -q -k ops.key --cert web.cert rotate.ndjson > wrong-lane.ndjson
  $ ben key sign -q -k ops.key --cert client.cert rotate.ndjson 2>&1
  ben key sign: certificate client is a client certificate, not for use as sign: verifiers will refuse its records
  [2]
  $ jq -c '.sig.cert = $c' --rawfile c client.cert signed.ndjson > client.ndjson
  $ sed 's/rotate k1/rotate k9/' signed.ndjson > altered.ndjson
  $ ben key sign -q --stream -k ops.key rotate.ndjson > chained.ndjson
  $ cat signed.ndjson wrong-lane.ndjson client.ndjson altered.ndjson chained.ndjson rotate.ndjson > mixed.ndjson
  $ ben contract validate -q web.ben mixed.ndjson --rejects signed-rejects.ndjson | jq -c .name
  "key.rotate"
  $ jq -r '"\(.line): \(.violations[0].rule) \(.violations[0].value // "missing")"' signed-rejects.ndjson | sed 's/([0-9a-f]\{32\})/(SERIAL)/'
  2: signed lane-not-allowed: certificate web (SERIAL) may not use lane control (allowed: diag, event)
  3: signed wrong-usage: certificate client (SERIAL) is a client certificate, not for use as sign
  4: signed bad-signature: the signature does not verify with ops's key: the record was altered
  5: signed malformed: sig is not {"cert": CERTIFICATE, "ed25519": SIGNATURE} (a stream's chained sig does not sign a record on its own)
  6: signed missing

A revoked signer, and a CA this machine does not trust:

  $ ben ca revoke "$(sed -n 2p ops.cert | jq -r .serial)" --reason 'key lost' > /dev/null 2>&1
  $ ben contract validate web.ben signed.ndjson 2>&1 | grep -o 'signed sig="revoked: certificate ops'
  signed sig="revoked: certificate ops
  $ ben ca bundle > trust && ben ca crl > crl
  $ BEN_HOME="$CRAMTMP/elsewhere" ben ingest -q --contract web.ben --trust trust --crl crl signed.ndjson --rejects r.ndjson; jq -r '.violations[0].value[0:8]' r.ndjson
  revoked:
  $ BEN_HOME="$CRAMTMP/other-ca" ben ca init --name other --cost interactive > /dev/null 2>&1
  $ BEN_HOME="$CRAMTMP/other-ca" ben ca bundle > other.trust
  $ BEN_HOME="$CRAMTMP/elsewhere" ben contract validate -q web.ben --trust other.trust signed.ndjson --rejects o.ndjson; jq -r '.violations[0].value[0:15]' o.ndjson
  unknown-issuer:

With no trust here at all, signed records are refused (a run that meets none needs no CA):

  $ BEN_HOME="$CRAMTMP/nowhere" ben contract validate -q web.ben signed.ndjson --rejects n.ndjson; jq -r '.violations[0].value' n.ndjson
  no-trust: cannot check signatures: give --trust (the CA trust bundle; no CA and no enrolled node here to take one from)
  $ BEN_HOME="$CRAMTMP/nowhere" ben contract validate web.ben --trust missing.pem signed.ndjson
  ben contract validate: cannot read the trust bundle missing.pem: No such file or directory
  [2]
