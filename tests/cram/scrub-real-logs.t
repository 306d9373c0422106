  $ . "$TESTDIR/setup.sh"
  $ printf '%064d\n' 16 > k.key && chmod 600 k.key

Keys are scanned as well as values. A key that holds personal data becomes a pseudonym (two
addresses stay two keys), and `redacted` says what was found:

  $ echo '{"attrs":{"24.54.76.216":true,"10.0.0.6":true,"alice@example.com":"v","status":200}}' | ben scrub -q --key k.key
  {"attrs":{"<IPV4:6c9976ffbbb1506c>":true,"<IPV4:46e8111878f25e38>":true,"<EMAIL:f22a9d345b322a72>@example.com":"v","status":200},"redacted":["email","ipv4"]}
