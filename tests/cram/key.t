  $ . "$TESTDIR/setup.sh"
  $ cd "$CRAMTMP" && mkdir -m 700 keys && cd keys

A signing key pair: the secret file is born 0600, the public one is minisign's format.

  $ ben key gen --out release
  ben key gen: wrote release.key (secret, mode 0600) and release.pub
  type: ed25519
  public key: RW[A-Za-z0-9+/]{54} (re)
  fingerprint: ([0-9a-f]{8} ){7}[0-9a-f]{8} (re)
  key id: [0-9A-F]{16} (re)
  $ stat -c '%a %n' release.key release.pub
  600 release.key
  644 release.pub
  $ head -c 38 release.pub; echo
  untrusted comment: minisign public key

show prints the public part and never the secret:

  $ ben key show release.key | grep -c "$(sed -n 2p release.key)"
  0
  [1]

Sign a file; minisign verifies it, and so does ben:

  $ printf 'release 1.0\n' > notes.txt
  $ ben key sign -k release.key -t "release 1.0" notes.txt
  ben key sign: wrote notes.txt.minisig
  $ minisign -Vq -p release.pub -m notes.txt && echo verified by minisign
  verified by minisign
  $ ben key verify --pub release.pub notes.txt
  ben key verify: notes.txt: signature verified; trusted comment: release 1.0
  $ printf 'release 1.1\n' > notes.txt
  $ ben key verify --pub release.pub notes.txt
  ben key verify: notes.txt: signature does not match the file: the file or the signature was altered
  [1]

A sealing key pair is an age identity and its recipient; age opens what ben seals:

  $ ben key gen --type x25519 --out backup -q
  type: x25519
  public key: age1[a-z0-9]{58} (re)
  fingerprint: ([0-9a-f]{8} ){7}[0-9a-f]{8} (re)
  $ stat -c '%a' backup.key
  600
  $ echo 'the crown jewels' | ben key seal --to backup.pub > jewels.age
  $ head -c 22 jewels.age
  age-encryption.org/v1
  $ age -d -i backup.key jewels.age
  the crown jewels
  $ age -r "$(cat backup.pub)" -a -o jewels2.age notes.txt
  $ ben key open --key backup.key jewels2.age
  release 1.1

Cut ciphertext is refused, and nothing is written:

  $ head -c -5 jewels.age | ben key open --key backup.key | wc -c
  ben key open: payload chunk 0 does not authenticate: the file is truncated or has no final chunk
  0

A passphrase protects a key file (here from BEN_PASSPHRASE):

  $ BEN_PASSPHRASE=hunter2 ben key gen --out locked --passphrase --cost interactive -q > /dev/null
  $ BEN_PASSPHRASE=wrong ben key sign -k locked.key notes.txt
  ben key sign: locked.key: wrong passphrase for this key
  [1]

Tamper-evident telemetry: every record gets a chain link; checkpoints are signed.

  $ for i in 1 2 3 4 5; do echo "{\"name\":\"login\",\"value\":$i}"; done > events.ndjson
  $ ben key sign --stream -k release.key --every 2 events.ndjson > signed.ndjson
  ben key sign: read 5, wrote 5, rejected 0, checkpoints 3
  $ head -1 signed.ndjson | cut -c1-60
  {"name":"login","value":1,"sig":{"seq":0,"prev":"[A-Za-z0-9+/]{11} (re)
  $ ben key verify --stream --pub release.pub signed.ndjson | wc -l
  ben key verify: signed.ndjson: 5 records and 3 checkpoints verified
  5

Altered, missing and truncated streams are named, with exit status 1:

  $ sed 's/"value":3/"value":30/' signed.ndjson | ben key verify --stream --pub release.pub > /dev/null
  ben key verify: <stdin>: line 3: altered: record seq 2 does not hash to the link that the next record carries: it (or that link) was altered
  [1]
  $ sed 2d signed.ndjson | ben key verify --stream --pub release.pub > /dev/null
  ben key verify: <stdin>: line 2: missing: record seq 1 is missing before this record (seq 2)
  [1]
  $ head -4 signed.ndjson | ben key verify --stream --pub release.pub | wc -l
  ben key verify: <stdin>: line 4: truncated: the stream ends after seq 3 without its final checkpoint; 0 unverified record(s) were withheld
  4

With -o, runs append to one file as one stream. A run cut short (here: a kill after the third
record, mid-line) leaves records no checkpoint covers; the next run cuts them to --rejects and
goes on from the last checkpoint:

  $ ben key sign --stream -k release.key --every 2 -o log.ndjson -q events.ndjson
  $ head -c "$(head -3 log.ndjson | wc -c)" log.ndjson > cut.ndjson; head -c 20 log.ndjson | tail -c 9 >> cut.ndjson
  $ mv cut.ndjson log.ndjson
  $ ben key sign --stream -k release.key --every 2 -o log.ndjson --rejects cut.rejects events.ndjson
  ben key sign: read 5, wrote 5, rejected 1, checkpoints 3, cut 1
    rejected log.ndjson:3: seq 2: signed by a run that ended before a checkpoint covered it; cut from the output
  $ ben key verify --stream --pub release.pub log.ndjson | jq -c '[.value, .sig.seq]' | tr '\n' ' '; echo
  ben key verify: log.ndjson: 7 records and 4 checkpoints verified
  [1,0] [2,1] [1,2] [2,3] [3,4] [4,5] [5,6] 

Usage errors are one line with exit status 2; a key can be given as text with -P:

  $ echo secret | ben key seal
  ben key seal: give at least one --to RECIPIENT (or --passphrase)
  [2]
  $ ben key verify --stream -P "$(sed -n 2p release.pub)" signed.ndjson -q | wc -l
  5
