  $ . "$TESTDIR/setup.sh"

Every string field is scanned; each record says what was found. E-mails get keyed pseudonyms
that keep their domain, IPs are truncated to their network, cards, SSNs and secrets are redacted:

  $ cat > in.ndjson <<'JSON'
  > {"ts":"2026-11-25T10:00:00Z","body":"login bob@example.com from 203.0.113.9","attrs":{"card":"4111 1111 1111 1111","ssn":"123-45-6789"}}
  > {"ts":"2026-11-25T10:00:01Z","body":"GET /healthz 200 trace 4bf92f3577b34da6a3ce929d0e0e4736 v1.2.3","attrs":{"request":"123e4567-e89b-12d3-a456-426614174000"}}
  > JSON
  $ ben scrub -q in.ndjson
  {"ts":"2026-11-25T10:00:00Z","body":"login <EMAIL:*>@example.com from 203.0.113.0/24","attrs":{"card":"<CREDIT_CARD>","ssn":"<US_SSN>"},"redacted":["credit_card","email","ipv4","us_ssn"]} (glob)
  {"ts":"2026-11-25T10:00:01Z","body":"GET /healthz 200 trace 4bf92f3577b34da6a3ce929d0e0e4736 v1.2.3","attrs":{"request":"123e4567-e89b-12d3-a456-426614174000"},"redacted":[]}

The HMAC key was made on first use, mode 0600, and the same key gives the same pseudonym:

  $ stat -c %a "$BEN_HOME/scrub/hmac.key"
  600
  $ a=$(echo '{"body":"bob@example.com"}' | ben scrub -q); b=$(echo '{"body":"BOB@example.com"}' | ben scrub -q); test "$a" = "$b" && echo same
  same

A key of your own (shared between hosts) gives the same pseudonyms everywhere; a key others can
read is refused before anything is written (exit 1):

  $ printf '%064d\n' 7 > my.key && chmod 600 my.key
  $ echo '{"body":"bob@example.com"}' | ben scrub -q --key my.key
  {"body":"<EMAIL:c29ec5951e5c8f35>@example.com","redacted":["email"]}
  $ chmod 644 my.key && echo '{}' | ben scrub --key my.key
  ben scrub: key file my.key is readable by others (mode 644); chmod 600 it
  [1]

Secrets in every form: key=value, JSON, headers, URLs, vendor tokens, IPv6, MAC, phone, IBAN:

  $ cat > secrets.ndjson <<'JSON'
  > {"body":"retry password=hunter2 with {\"api_key\": \"abc123\"} Authorization: Bearer abcdefghijklmnop0123"}
  > {"body":"dsn postgres://app:s3cret@db:5432/app key AKIAIOSFODNN7EXAMPLE gh ghp_a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2"}
  > {"body":"peer 2001:db8:85a3::8a2e:370:7334 nic 00:1a:2b:3c:4d:5e call +1 415-555-0100 iban GB82 WEST 1234 5698 7654 32"}
  > {"body":"Cookie: sessionid=abc123; theme=dark","attrs":{"password":"p4ss","max_tokens":4096}}
  > JSON
  $ ben scrub -q secrets.ndjson
  {"body":"retry password=<SECRET> with {\"api_key\": \"<SECRET>\"} Authorization: Bearer <AUTH_HEADER>","redacted":["auth_header","secret"]}
  {"body":"dsn postgres://app:<URL_PASSWORD>@db:5432/app key <AWS_ACCESS_KEY> gh <GITHUB_TOKEN>","redacted":["aws_access_key","github_token","url_password"]}
  {"body":"peer 2001:db8:85a3::/48 nic <MAC:*> call <PHONE> iban <IBAN>","redacted":["iban","ipv6","mac","phone"]} (glob)
  {"body":"Cookie: sessionid=<COOKIE>; theme=<COOKIE>","attrs":{"password":"<SECRET>","max_tokens":4096},"redacted":["cookie","secret"]}

Vendor credentials, JWTs, private keys and high-entropy strings after a secret word:

  $ cat > vendors.ndjson <<'JSON'
  > {"body":"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
  > {"body":"slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc google AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"}
  > {"body":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY----- loaded; refreshed with token 8Fj3kL9qZx2Vb7Nm4Tr1Yw6P"}
  > JSON
  $ ben scrub -q vendors.ndjson
  {"body":"jwt <JWT> aws_secret_access_key=<AWS_SECRET_KEY>","redacted":["aws_secret_key","jwt"]}
  {"body":"slack <SLACK_TOKEN> stripe <STRIPE_KEY> google <GOOGLE_API_KEY>","redacted":["google_api_key","slack_token","stripe_key"]}
  {"body":"<PRIVATE_KEY> loaded; refreshed with token <HIGH_ENTROPY>","redacted":["high_entropy","private_key"]}

Scrubbing twice changes nothing more:

  $ ben scrub -q secrets.ndjson | ben scrub -q | cmp - <(ben scrub -q secrets.ndjson) && echo idempotent
  idempotent

Operators per entity and field rules come from a TOML policy (a dropped field is listed
under its rule's entity, `pii` unless the rule names one):

  $ cat > policy.toml <<'TOML'
  > [operators]
  > email = "redact"
  > credit_card = "mask"
  > ipv4 = "pseudonym"
  > phone = "hash"
  > us_ssn = "truncate"
  > iban = "keep"
  > [[field]]
  > path = "attrs.debug*"
  > action = "drop"
  > [[field]]
  > path = "attrs.user.*"
  > action = "pseudonym"
  > entity = "user"
  > TOML
  $ echo '{"body":"bob@example.com 4111-1111-1111-1111 10.1.2.3 +1 415-555-0100 123-45-6789 GB82WEST12345698765432","attrs":{"debug_dump":"x","user":{"name":"Ann"}}}' | ben scrub -q --policy policy.toml
  {"body":"<EMAIL> \*\*\*\*-\*\*\*\*-\*\*\*\*-1111 <IPV4:*> <PHONE#*> 123-<US_SSN> GB82WEST12345698765432","attrs":{"user":{"name":"<USER:*>"}},"redacted":["credit_card","email","ipv4","phone","pii","us_ssn","user"]} (glob)

A mistake in the policy is reported with its line, as a usage error:

  $ printf '[operators]\nemail = "redact"\nipv4 = "shred"\n' > bad.toml
  $ echo '{}' | ben scrub --policy bad.toml
  ben scrub: bad.toml:3: unknown operator 'shred' for ipv4; use one of redact, mask, pseudonym, truncate, hash, drop, keep
  [2]

The default policy is documented by printing it:

  $ ben scrub --print-policy | grep -E '^(email|ipv4|credit_card) ='
  email = "pseudonym"
  ipv4 = "truncate"
  credit_card = "redact"

--report changes nothing and counts findings per entity and field:

  $ ben scrub -q --report in.ndjson | cmp - in.ndjson && echo unchanged
  entity       field       count
  credit_card  attrs.card  1
  email        body        1
  ipv4         body        1
  us_ssn       attrs.ssn   1
  unchanged
  $ ben scrub -q --report-json in.ndjson > /dev/null
  {"entities":{"credit_card":1,"email":1,"ipv4":1,"us_ssn":1},"fields":{"attrs.card":{"credit_card":1},"attrs.ssn":{"us_ssn":1},"body":{"email":1,"ipv4":1}}}

Bad lines go to --rejects and are counted; a value too large to scrub safely is rejected, never passed on:

  $ printf '[scan]\nmax_value_bytes = 16\n' > small.toml
  $ printf '{"body":"a value longer than sixteen bytes"}\nnot json\n{"body":"ok"}\n' | ben scrub --policy small.toml --rejects rej.ndjson
  {"body":"ok","redacted":[]}
  ben scrub: read 3, wrote 1, rejected 2
    rejected line 1: cannot scrub safely: body is a string of over 16 bytes (max_value_bytes)
    rejected line 2: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  $ wc -l < rej.ndjson
  2
  $ echo 'not json' | ben scrub --strict
  ben scrub: line 1: invalid JSON: invalid literal, expected 'null': line 1 column 1 (char 0)
  [1]

Lines longer than --max-line-bytes (a size: bytes, 64K, 1M) are rejected unread:

  $ printf '{"body":"%0200d"}\n{"body":"short"}\n' 0 | ben scrub --max-line-bytes 100
  {"body":"short","redacted":[]}
  ben scrub: read 2, wrote 1, rejected 1
    rejected line 1: line is 211 bytes, over the 100-byte limit
  $ echo '{}' | ben scrub --max-line-bytes lots 2>&1 | tail -1
  .*not a size: 'lots'.* (re)
  $ echo '{}' | ben scrub --max-line-bytes lots > /dev/null 2>&1
  [2]
