  $ . "$TESTDIR/setup.sh"
  $ printf '%064d\n' 16 > k.key && chmod 600 k.key

Keys are scanned as well as values. A key that holds personal data becomes a pseudonym (two
addresses stay two keys), and `redacted` says what was found:

  $ echo '{"attrs":{"24.54.76.216":true,"10.0.0.6":true,"alice@example.com":"v","status":200}}' | ben scrub -q --key k.key
  {"attrs":{"<IPV4:6c9976ffbbb1506c>":true,"<IPV4:46e8111878f25e38>":true,"<EMAIL:f22a9d345b322a72>@example.com":"v","status":200},"redacted":["email","ipv4"]}

User names in the login contexts of sshd, PAM, sudo, su, login, ftpd and cron get keyed
pseudonyms (one user keeps one pseudonym); system accounts such as root stay, so the line still
says who was targeted:

  $ cat > auth.log <<'LOG'
  > sshd[811]: Invalid user webmaster from 198.51.100.7 port 4242
  > sshd[812]: Failed password for root from 198.51.100.7 port 4243 ssh2
  > sshd[813]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198-51-100-23.dyn.example.net  user=alice
  > sudo[901]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update
  > su[902]: (to root) alice on pts/0
  > LOG
  $ while IFS= read -r l; do printf '{"body":"%s"}\n' "$l"; done < auth.log | ben scrub -q --key k.key
  {"body":"sshd[811]: Invalid user <USERNAME:*> from 198.51.100.0/24 port 4242","redacted":["ipv4","username"]} (glob)
  {"body":"sshd[812]: Failed password for root from 198.51.100.0/24 port 4243 ssh2","redacted":["ipv4"]}
  {"body":"sshd[813]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198-51-100-0.dyn.example.net  user=<USERNAME:*>","redacted":["ip_in_hostname","username"]} (glob)
  {"body":"sudo[901]:    <USERNAME:*> : TTY=pts/0 ; PWD=/home/<USERNAME:*> ; USER=root ; COMMAND=/usr/bin/apt-get update","redacted":["username"]} (glob)
  {"body":"su[902]: (to root) <USERNAME:*> on pts/0","redacted":["username"]} (glob)

Addresses spelled inside host names are truncated in their own spelling, like the address; Java's
host/ip:port keeps its name and loses its address; secrets stated in prose are redacted:

  $ cat > java.ndjson <<'JSON'
  > {"body":"Successfully assigned default/api-7d9f8b6c5d-x2k4p to ip-10-0-1-23.ec2.internal"}
  > {"body":"Connecting to ResourceManager at rm.example.com/10.20.30.40:8030"}
  > {"body":"setup done, the password is hunter2 and the passphrase was correct-horse"}
  > JSON
  $ ben scrub -q --key k.key java.ndjson
  {"body":"Successfully assigned default/api-7d9f8b6c5d-x2k4p to ip-10-0-1-0.ec2.internal","redacted":["ip_in_hostname"]}
  {"body":"Connecting to ResourceManager at rm.example.com/10.20.30.0/24:8030","redacted":["ipv4"]}
  {"body":"setup done, the password is <SECRET_PROSE> and the passphrase was <SECRET_PROSE>","redacted":["secret_prose"]}

Real log vocabulary is left alone: HDFS block ids, Zookeeper's sid and session ids, Debian
architectures, session numbers, durations, class and path names, package versions:

  $ cat > vocab.ndjson <<'JSON'
  > {"body":"PacketResponder 1 for block blk_-3892923245492692829 terminating"}
  > {"body":"[ProcessThread(sid:1 cport:-1)::PrepRequestProcessor@487] - sessionid:0x14e1fd3a56f0000 type:create"}
  > {"body":"2026-11-25 10:00:00 status half-configured dbus-user-session:amd64 1.12.20-2ubuntu4.1"}
  > {"body":"session: 42; wake time set +0.310027 s; Token: Token { kind: ContainerToken }; GET stream/token: ok"}
  > {"body":"upgrade libfoo:amd64 1.2.3.4 1.2.3.5"}
  > JSON
  $ ben scrub -q vocab.ndjson | grep -c '"redacted":\[\]'
  5

Each new entity has an operator in the policy, so it can be turned off (keep):

  $ ben scrub --print-policy | grep -E '^(username|ip_in_hostname|secret_prose) ='
  username = "pseudonym"
  ip_in_hostname = "truncate"
  secret_prose = "redact"

The source names a series, so addresses in it get a stable pseudonym per host instead of a
truncation (which would merge 10.0.0.5 and 10.0.0.6 into one series 10.0.0.0/24):

  $ printf '{"source":"10.0.0.5","body":"up"}\n{"source":"10.0.0.6","body":"up"}\n{"source":"10.0.0.5","body":"down"}\n' | ben scrub -q --key k.key
  {"source":"<IPV4:*>","body":"up","redacted":["ipv4"]} (glob)
  {"source":"<IPV4:*>","body":"up","redacted":["ipv4"]} (glob)
  {"source":"<IPV4:*>","body":"down","redacted":["ipv4"]} (glob)
  $ printf '{"source":"10.0.0.5"}\n{"source":"10.0.0.6"}\n{"source":"10.0.0.5"}\n' | ben scrub -q --key k.key | sort | uniq -c | awk '{print $1}'
  2
  1

Logs encode: percent-encoded query strings, internationalised domains, quoted local parts, cards
split by non-breaking spaces and e-mails with a zero-width character inside are found, and each
spelling of one address gets the same pseudonym as its plain form:

  $ cat > encoded.ndjson <<'JSON'
  > {"body":"GET /reset?email=alice%40example.com&next=%2F HTTP/1.1"}
  > {"body":"to alice@example.com, bounce from \"john doe\"@example.com and carl@bücher.de"}
  > {"body":"card 4111\u00a01111\u00a01111\u00a01111 by ali\u200bce@example.com"}
  > JSON
  $ ben scrub -q --key k.key encoded.ndjson
  {"body":"GET /reset?email=<EMAIL:f22a9d345b322a72>@example.com&next=%2F HTTP/1.1","redacted":["email"]}
  {"body":"to <EMAIL:f22a9d345b322a72>@example.com, bounce from <EMAIL:9a99ebcea633c59d>@example.com and <EMAIL:21051c28f3c87c7e>@b\xc3\xbccher.de","redacted":["email"]} (esc)
  {"body":"card <CREDIT_CARD> by <EMAIL:f22a9d345b322a72>@example.com","redacted":["credit_card","email"]}

After `ben detect`, the series it names is scrubbed like the source it copies:

  $ echo '{"source":"10.0.0.5","name":"login.count","anomaly":{"series":"10.0.0.5/login.count","score":0.9}}' | ben scrub -q --key k.key
  {"source":"<IPV4:1a038da48d9295c9>","name":"login.count","anomaly":{"series":"<IPV4:1a038da48d9295c9>/login.count","score":0.9},"redacted":["ipv4"]}
