"""A labelled corpus of real log lines for ben scrub, written from each program's documented
message formats (OpenSSH's auth log, Linux-PAM's pam_unix, sudo, su, login, vsftpd/proftpd,
cron, dpkg/apt, nginx and Apache access and error logs, HDFS, YARN/Hadoop, Zookeeper, Spark,
Spring/Tomcat services, Kubernetes events, AWS CloudTrail and Google Cloud audit logs).

Each template is a line (or a JSON object) with slots: ``{user}`` is a user name that must go,
``{blk}`` an HDFS block id that must stay. Every slot kind has a label and a side: for a positive
the value must be gone from the scrubbed record (a *leak* if it survives anywhere in it); for a
negative it must still be there verbatim (*damage* otherwise). Values are random, so a leak cannot
hide behind a coincidence; the same seed gives the same corpus. Used by tests/test_scrub_logs.py
(rates asserted per label) and bench/bench_scrub.py (rates in BENCHMARKS.md).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

from .scrub_corpus import _luhn_complete

Gen = Callable[[random.Random], str]


@dataclass
class LogItem:
    program: str
    record: dict
    checks: list[tuple[str, str, bool]]  # (label, value, positive)


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


HEX = "0123456789abcdef"
LOWER = string.ascii_lowercase
FIRST = ["alice", "bob", "carol", "dmitri", "eve", "fatima", "gunnar", "hiro", "ines", "jdoe", "kwame", "li.wei",
         "m.rossi", "nadia", "oscar", "priya", "quentin", "rosa", "svc_backup", "deploy", "webmaster", "oracle",
         "admin", "test", "ubuntu", "pi", "git", "jenkins", "ftpuser", "support", "sysadmin", "cyrus", "marketing"]


def _user(rng: random.Random) -> str:
    while True:  # not a word the envelope or the line's own text holds (eve + n = "even", as in "event")
        base = rng.choice(FIRST)
        name = base + rng.choice(["", "", str(rng.randint(1, 99)), "_" + _r(rng, LOWER, 2), "-" + _r(rng, LOWER, 3)]) + _r(rng, LOWER, 1)
        if not any(name in w for w in _TAKEN):
            return name


_TAKEN = ("event", "info", "severity", "session", "password", "publickey", "preauth", "authenticating", "disconnect",
          "example", "internal", "deploy", "admin", "testing", "oracle")


def _ip(rng: random.Random) -> str:
    return f"{rng.choice([23, 45, 61, 88, 103, 141, 185, 198, 203, 212])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _priv(rng: random.Random) -> str:
    return rng.choice([f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])


def _iphost(rng: random.Random) -> str:
    """Host names that spell an address (reverse-DNS and cloud naming schemes)."""
    a = _ip(rng).split(".")
    p = _priv(rng).split(".")
    return rng.choice([
        f"{'-'.join(a)}.dyn.example.net",
        f"ec2-{'-'.join(a)}.compute-1.amazonaws.com",
        f"ec2-{'-'.join(a)}.eu-west-1.compute.amazonaws.com",
        f"ip-{'-'.join(p)}.ec2.internal",
        f"ip-{'-'.join(p)}.eu-central-1.compute.internal",
        f"laptop-{'-'.join(p)}",
        f"host-{'-'.join(a)}.static.example.org",
        f"{'-'.join(a)}.rev.example.com",
        f"static.{'.'.join(reversed(a))}.clients.example.net",
        f"{'.'.join(reversed(a))}.in-addr.arpa",
    ])


def _email(rng: random.Random) -> str:
    return f"{_r(rng, LOWER, rng.randint(3, 7))}{rng.choice(['.', '_', ''])}{_r(rng, LOWER, 3)}@{rng.choice(['example.com', 'corp.example.org', 'mail.example.net'])}"


def _secret(rng: random.Random) -> str:
    return _r(rng, string.ascii_letters, rng.randint(4, 8)) + str(rng.randint(1, 999)) + rng.choice(["", "!", "#"])


def _zero_width_email(rng: random.Random) -> tuple[str, str]:
    """An e-mail with a zero-width character inside its local part; the part before it must go."""
    head = _r(rng, LOWER, 6)
    zw = rng.choice(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
    return f"{head}{zw}{_r(rng, LOWER, 3)}@example.com", head


def _unicode_card(rng: random.Random) -> tuple[str, str]:
    n = _luhn_complete(rng, "4", 16)
    sep = rng.choice(["\u00a0", "\u202f", "\u2009", ".", "\u2007"])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4)), n[:4] + sep + n[4:8]


def _blk(rng: random.Random) -> str:
    """HDFS block ids are signed 64-bit numbers; half of these pass the Luhn check."""
    n = rng.randint(16, 19)
    digits = _luhn_complete(rng, str(rng.randint(1, 9)), n) if rng.random() < 0.5 else str(rng.randint(10 ** (n - 1), 10 ** n - 1))
    return f"blk_{rng.choice(['-', ''])}{digits}"


def _version(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
                       f"{rng.randint(1, 300)}.{rng.randint(0, 40)}-{rng.randint(1, 9)}ubuntu{rng.randint(1, 9)}.{rng.randint(1, 5)}",
                       f"{rng.randint(1, 9)}:{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}-{rng.randint(1, 9)}+deb12u{rng.randint(1, 9)}",
                       f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}-{rng.randint(1, 3)}"])


PKGS = ["dbus-user-session", "libsystemd0", "libc-bin", "openssh-server", "libssl3", "systemd-timesyncd", "libpam-modules",
        "libfoo", "python3-session", "libtoken-perl", "libsecret-1-0", "gnome-keyring", "libpassword-policy"]
ARCHES = ["amd64", "arm64", "i386", "armhf", "all", "ppc64el", "s390x", "riscv64", "mips64el", "armel"]
SYSTEM_USERS = ["root", "www-data", "nobody", "daemon", "postgres", "syslog", "_apt", "systemd-resolve", "mysql", "zookeeper"]


def _clf_time(rng: random.Random) -> str:
    return f"{rng.randint(1, 28):02d}/Nov/2026:{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000"


def _pct(value: str) -> str:
    return value.replace("@", "%40").replace("+", "%2B")


# slot -> (generator, label, positive)
SLOTS: dict[str, tuple[Gen, str, bool]] = {
    "user": (_user, "username", True),
    "ip": (_ip, "ipv4", True),
    "priv": (_priv, "ipv4", True),
    "iphost": (_iphost, "ip_in_hostname", True),
    "hostip": (lambda r: f"{_ip(r)}", "host/ip:port", True),
    "email": (_email, "email", True),
    "prose": (_secret, "secret_in_prose", True),
    "kvsecret": (_secret, "secret", True),
    "clisecret": (_secret, "cli_secret", True),
    "pctemail": (lambda r: _pct(_email(r)), "email_percent_encoded", True),
    "idnemail": (lambda r: f"{_r(r, LOWER, 5)}@{r.choice(['bücher.de', 'münchen.example', 'xn--bcher-kva.de', 'пример.рф', 'example.中国'])}",
                 "email_idn", True),
    "quotedemail": (lambda r: f"\"{_r(r, LOWER, 4)} {_r(r, LOWER, 5)}\"@example.com", "email_quoted_local_part", True),
    "zwemail": (lambda r: _zero_width_email(r), "email_zero_width", True),
    "unicard": (lambda r: _unicode_card(r), "card_unicode_or_dot_separated", True),
    "keyip": (_ip, "key_ipv4", True),
    "keyemail": (_email, "key_email", True),
    "sys": (lambda r: r.choice(SYSTEM_USERS), "system_account", False),
    "blk": (_blk, "hdfs_block_id", False),
    "sidcport": (lambda r: f"sid:{r.randint(0, 5)} cport:{r.choice(['-1', '2888'])}", "zk_sid_cport", False),
    "pkgarch": (lambda r: f"{r.choice(PKGS)}:{r.choice(ARCHES)}", "debian_package_arch", False),
    "version": (_version, "package_version", False),
    "sessnum": (lambda r: f"session: {r.randint(1, 99999)}", "session_number", False),
    "logind": (lambda r: f"session {r.randint(1, 99999)}", "session_number", False),
    "duration": (lambda r: rng_duration(r), "duration_with_unit", False),
    "tokenclass": (lambda r: r.choice(["Token { kind: ContainerToken", "Token { kind: NMToken", "Token { kind: HDFS_DELEGATION_TOKEN",
                                       "Token { kind: YARN_AM_RM_TOKEN", "token.JobTokenIdentifier"]), "token_class_name", False),
    "tokenpath": (lambda r: r.choice(["stream/token:", "/v1/auth/token:", "serviceaccount/token:", "oauth2/token:"]), "token_in_path", False),
    "fingerprint": (lambda r: "SHA256:" + _r(r, string.ascii_letters + string.digits + "+/", 43), "ssh_key_fingerprint", False),
    "appid": (lambda r: f"application_{r.randint(1400000000000, 1800000000000)}_{r.randint(1, 9999):04d}", "yarn_id", False),
    "container": (lambda r: f"container_{r.randint(1400000000000, 1800000000000)}_{r.randint(1, 9999):04d}_01_{r.randint(1, 999999):06d}", "yarn_id", False),
    "zksession": (lambda r: "0x" + _r(r, HEX, r.choice([15, 16])), "zk_session_id", False),
    "pod": (lambda r: f"{r.choice(['api', 'web', 'worker'])}-{_r(r, 'bcdfghjklmnpqrstvwxz2456789', 10)}-{_r(r, 'bcdfghjklmnpqrstvwxz2456789', 5)}", "k8s_pod_name", False),
    "uuid": (lambda r: "-".join(_r(r, HEX, n) for n in (8, 4, 4, 4, 12)), "uuid", False),
    "ua": (lambda r: f"Chrome/{r.randint(90, 130)}.0.{r.randint(1000, 9999)}.{r.randint(10, 200)}", "user_agent_version", False),
    "clf": (_clf_time, "timestamp", False),
    "unit": (lambda r: r.choice([f"getty@tty{r.randint(1, 6)}.service", f"user@{r.randint(1000, 2000)}.service",
                                 f"serial-getty@ttyS{r.randint(0, 3)}.service", f"user-runtime-dir@{r.randint(1000, 2000)}.service",
                                 f"systemd-fsck@dev-disk-by\\x2duuid-{r.randint(1000, 9999)}.service", f"container-getty@{r.randint(0, 9)}.service"]),
             "systemd_unit", False),
    "cwd": (lambda r: f"PWD=/{r.choice(['srv', 'opt', 'var/www', 'etc/nginx', 'data'])}/{_r(r, LOWER, 5)}", "sudo_working_directory", False),
    "pidport": (lambda r: f"port {r.randint(1024, 65535)}", "port", False),
}


def rng_duration(r: random.Random) -> str:
    return r.choice([f"+{r.randint(0, 9)}.{r.randint(0, 999999):06d} s", f"{r.randint(1, 9999)}.{r.randint(0, 999):03d} ms",
                     f"{r.randint(1, 99)}.{r.randint(0, 999999):06d} seconds", f"{r.randint(1, 999)}.{r.randint(1, 9)} MB"])


# (program, template); a template starting with '{' is a JSON object (the record's attrs).
TEMPLATES: list[tuple[str, str]] = [
    # OpenSSH sshd (auth.log); the issue's own examples first
    ("sshd", "sshd[{n}]: Invalid user {user} from {ip} {pidport}"),
    ("sshd", "sshd[{n}]: Failed password for {user} from {ip} {pidport} ssh2"),
    ("sshd", "sshd[{n}]: Failed password for invalid user {user} from {ip} {pidport} ssh2"),
    ("sshd", "sshd[{n}]: Failed password for {sys} from {ip} {pidport} ssh2"),
    ("sshd", "sshd[{n}]: Accepted publickey for {user} from {ip} {pidport} ssh2: ED25519 {fingerprint}"),
    ("sshd", "sshd[{n}]: Accepted password for {user} from {priv} {pidport} ssh2"),
    ("sshd", "sshd[{n}]: Connection closed by authenticating user {user} {ip} {pidport} [preauth]"),
    ("sshd", "sshd[{n}]: Disconnected from invalid user {user} {ip} {pidport} [preauth]"),
    ("sshd", "sshd[{n}]: Disconnected from user {user} {ip} {pidport}"),
    ("sshd", "sshd[{n}]: input_userauth_request: invalid user {user} [preauth]"),
    ("sshd", "sshd[{n}]: reverse mapping checking getaddrinfo for {iphost} [{ip}] failed."),
    ("sshd", "sshd[{n}]: Received disconnect from {ip} {pidport}:11: Bye Bye [preauth]"),
    ("sshd", "sshd[{n}]: pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"),
    ("sshd", "sshd[{n}]: pam_unix(sshd:session): session opened for user {user} by (uid=0)"),
    ("sshd", "sshd[{n}]: pam_unix(sshd:session): session closed for user {user}"),
    ("sshd", "sshd[{n}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={iphost}  user={user}"),
    ("sshd", "sshd[{n}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}"),
    ("sshd", "sshd[{n}]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={iphost}  user={sys}"),
    ("systemd-logind", "systemd-logind[{n}]: New {logind} of user {user}."),
    ("systemd-logind", "systemd-logind[{n}]: Removed {logind}."),
    # PAM, sudo, su, login
    ("pam", "sudo: pam_unix(sudo:auth): authentication failure; logname={user} uid={uid} euid=0 tty=/dev/pts/1 ruser={user} rhost=  user={user}"),
    ("pam", "su[{n}]: pam_unix(su:session): session opened for user {sys}(uid=0) by {user}(uid={uid})"),
    ("pam", "CRON[{n}]: pam_unix(cron:session): session opened for user {sys}(uid=0) by (uid=0)"),
    ("pam", "polkitd[{n}]: Operator of unix-session:{uid} successfully authenticated as unix-user:{user} to gain TEMPORARY authorization"),
    ("sudo", "sudo[{n}]:    {user} : TTY=pts/{d} ; {cwd} ; USER={sys} ; COMMAND=/usr/bin/apt-get update"),
    ("sudo", "sudo[{n}]:    {user} : 3 incorrect password attempts ; TTY=pts/{d} ; PWD=/tmp ; USER={sys} ; COMMAND=/bin/ls"),
    ("sudo", "sudo[{n}]: {user} : user NOT in sudoers ; TTY=pts/{d} ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh"),
    ("sudo", "sudo[{n}]:    {user} : TTY=pts/{d} ; {cwd} ; USER={sys} ; COMMAND=/usr/bin/mysql -u root -p{clisecret} app"),
    ("sudo", "sudo[{n}]:    {user} : TTY=pts/{d} ; {cwd} ; USER={sys} ; COMMAND=/usr/bin/sshpass -p {clisecret} ssh backup@db"),
    ("bash", "history: 1042  curl -fsS -u deploy:{clisecret} https://ci.example/api/build"),
    ("bash", "history: 1043  redis-cli -h cache -a {clisecret} info"),
    ("su", "su[{n}]: (to {sys}) {user} on pts/{d}"),
    ("su", "su[{n}]: FAILED SU (to root) {user} on pts/{d}"),
    ("su", "su[{n}]: Successful su for {sys} by {user}"),
    ("su", "su[{n}]: + /dev/pts/{d} {user}:root"),
    ("login", "login[{n}]: FAILED LOGIN (1) on '/dev/tty{d}' FOR '{user}', Authentication failure"),
    ("login", "login[{n}]: LOGIN ON tty{d} BY {user}"),
    ("login", "login[{n}]: ROOT LOGIN  on '/dev/tty{d}'"),
    ("ftpd", "vsftpd[{n}]: [{user}] OK LOGIN: Client \"{ip}\""),
    ("ftpd", "vsftpd[{n}]: [{user}] FAIL LOGIN: Client \"{ip}\""),
    ("ftpd", "proftpd[{n}]: srv.example.com ({iphost}[{ip}]) - USER {user}: Login successful."),
    ("ftpd", "proftpd[{n}]: srv.example.com ({ip}[{ip}]) - USER {user} (Login failed): Incorrect password"),
    ("ftpd", "ftpd[{n}]: FTP LOGIN FROM {ip} as {user}"),
    ("ftpd", "ftpd[{n}]: user {user}"),
    # cron
    ("cron", "CRON[{n}]: ({sys}) CMD (   cd / && run-parts --report /etc/cron.hourly)"),
    ("cron", "CRON[{n}]: ({user}) CMD (/usr/local/bin/backup.sh >/dev/null 2>&1)"),
    # dpkg / apt
    ("dpkg", "2026-11-25 10:{mm}:{ss} status half-configured {pkgarch} {version}"),
    ("dpkg", "2026-11-25 10:{mm}:{ss} upgrade {pkgarch} {version} {version}"),
    ("dpkg", "2026-11-25 10:{mm}:{ss} status installed {pkgarch} {version}"),
    ("apt", "Unpacking libfoo ({version}) over ({version}) ..."),
    ("apt", "Setting up gnome-keyring ({version}) ..."),
    ("apt", "libfoo {version} installed"),
    ("apt", "Depends: libc6 (>= 2.14), libx11-6 (>= 2:{version}), zlib1g (>= 1:{version}), libxext6"),
    # nginx / Apache
    ("nginx", "{ip} - - [{clf}] \"GET /reset?email={pctemail}&next=%2F HTTP/1.1\" 302 154 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) {ua} Safari/537.36\""),
    ("nginx", "{ip} - {user} [{clf}] \"GET /admin/ HTTP/1.1\" 200 5120 \"https://example.com/\" \"curl/8.5.0\""),
    ("nginx", "{ip} - - [{clf}] \"POST /login HTTP/2.0\" 401 17 \"-\" \"Mozilla/5.0 {ua}\" rt=0.012 uct=\"0.000\""),
    ("nginx", "2026/11/25 10:{mm}:{ss} [error] {n}#{n}: *{n} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: example.com, request: \"GET /api HTTP/1.1\", upstream: \"http://{priv}:8080/api\", host: \"example.com\""),
    ("nginx", "2026/11/25 10:{mm}:{ss} [error] {n}#{n}: *{n} user \"{user}\": password mismatch, client: {ip}, server: example.com, request: \"GET /private HTTP/1.1\""),
    ("nginx", "2026/11/25 10:{mm}:{ss} [error] {n}#{n}: *{n} user \"{user}\" was not found in \"/etc/nginx/.htpasswd\", client: {ip}"),
    ("apache", "{ip} - {user} [{clf}] \"GET /private/ HTTP/1.1\" 200 2326"),
    ("apache", "[Wed Nov 25 10:{mm}:{ss}.{n} 2026] [auth_basic:error] [pid {n}:tid {n}] [client {ip}:{n}] AH01618: user {user} not found: /admin"),
    ("apache", "[Wed Nov 25 10:{mm}:{ss}.{n} 2026] [auth_basic:error] [pid {n}:tid {n}] [client {ip}:{n}] AH01617: user {user}: authentication failure for \"/private\": Password Mismatch"),
    # HDFS / Hadoop / YARN
    ("hdfs", "081109 2036{ss} {n} INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block {blk} terminating"),
    ("hdfs", "081109 2036{ss} {n} INFO dfs.DataNode$DataXceiver: Receiving block {blk} src: /{priv}:{n} dest: /{priv}:50010"),
    ("hdfs", "081109 2036{ss} {n} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {priv}:50010 is added to {blk} size 67108864"),
    ("hdfs", "081109 2036{ss} {n} INFO dfs.FSNamesystem: BLOCK* NameSystem.delete: {blk} is added to invalidSet of {priv}:50010"),
    ("yarn", "2026-11-25 10:{mm}:{ss},{n} INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for {appid}"),
    ("yarn", "2026-11-25 10:{mm}:{ss},{n} INFO [ContainerLauncher #1] org.apache.hadoop.yarn.client.api.impl.ContainerManagementProtocolProxy: Opening proxy : {iphost}:{n}"),
    ("yarn", "2026-11-25 10:{mm}:{ss},{n} INFO [RMCommunicator Allocator] org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: Assigned container {container} to attempt_{n}_0001_m_000000_0"),
    ("yarn", "2026-11-25 10:{mm}:{ss},{n} INFO [main] org.apache.hadoop.yarn.security.AMRMTokenSelector: Looking for a token with service {priv}:8030; Token: {tokenclass}, service: {priv}:8030 }}"),
    ("yarn", "2026-11-25 10:{mm}:{ss},{n} INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Kind: mapreduce.job, Service: job_{n}_0001, Ident: (org.apache.hadoop.mapreduce.security.{tokenclass}@{n})"),
    ("hadoop", "2026-11-25 10:{mm}:{ss},{n} INFO [main] org.apache.hadoop.yarn.client.RMProxy: Connecting to ResourceManager at rm.example.com/{hostip}:8030"),
    ("hadoop", "java.net.ConnectException: Call From worker7.example.com/{hostip} to nn.example.com:9000 failed on connection exception"),
    ("hadoop", "2026-11-25 10:{mm}:{ss},{n} INFO org.apache.hadoop.security.UserGroupInformation: Login successful for user {user} using keytab file /etc/security/keytabs/{user}.keytab"),
    # Zookeeper
    ("zookeeper", "2026-11-25 10:{mm}:{ss},{n} [myid:1] - INFO  [ProcessThread({sidcport})::PrepRequestProcessor@{n}] - Got user-level KeeperException when processing sessionid:{zksession} type:create cxid:0x{n} zxid:0x{n} txntype:-1 reqpath:n/a Error Path:/config Error:KeeperErrorCode = NodeExists"),
    ("zookeeper", "2026-11-25 10:{mm}:{ss},{n} [myid:1] - INFO  [NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxnFactory@197] - Accepted socket connection from /{priv}:{n}"),
    ("zookeeper", "2026-11-25 10:{mm}:{ss},{n} [myid:1] - INFO  [NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxn@1008] - Closed socket connection for client /{priv}:{n} which had sessionid {zksession}"),
    ("zookeeper", "2026-11-25 10:{mm}:{ss},{n} [myid:1] - INFO  [SessionTracker:ZooKeeperServer@325] - Expiring session {zksession}, timeout of 10000ms exceeded"),
    # Spark
    ("spark", "26/11/25 10:{mm}:{ss} INFO BlockManagerMasterEndpoint: Registering block manager {iphost}:{n} with 366.3 MB RAM, BlockManagerId(1, {iphost}, {n}, None)"),
    ("spark", "26/11/25 10:{mm}:{ss} INFO SecurityManager: SecurityManager: authentication disabled; ui acls disabled; users  with view permissions: Set({user}); groups with view permissions: Set()"),
    ("spark", "26/11/25 10:{mm}:{ss} INFO TaskSetManager: Starting task 0.0 in stage 1.0 (TID 4, {iphost}, executor 1, partition 0, PROCESS_LOCAL, 7873 bytes)"),
    ("spark", "26/11/25 10:{mm}:{ss} INFO Executor: Finished task 3.0 in stage 2.0 (TID 11). 2087 bytes result sent to driver in {duration}"),
    # Java services (Spring Boot, Tomcat)
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  WARN 4242 --- [nio-8080-exec-{d}] c.e.auth.LoginService : Login failed for user {email} from {ip}"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  INFO 4242 --- [main] com.zaxxer.hikari.HikariDataSource : HikariPool-1 - Added connection conn0: url=jdbc:postgresql://db.internal:5432/app user={user}"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  INFO 4242 --- [pool-2-thread-1] c.e.mail.SmtpClient : message queued, {sessnum}, 2 recipients"),
    ("java", "Caused by: java.net.ConnectException: Connection refused: cache.internal/{hostip}:6379"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n} ERROR 4242 --- [main] c.e.Setup : the password is {prose}"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  INFO 4242 --- [main] c.e.Setup : temporary passphrase was {prose}, rotate it"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  INFO 4242 --- [main] c.e.Setup : connecting with pwd: {kvsecret}"),
    ("logfmt", 'time=2026-11-25T10:{mm}:{ss}Z level=debug msg="auth ok: token={kvsecret}" user_agent=curl/8.5'),
    ("java", "2026-11-25 10:{mm}:{ss}.{n} DEBUG 4242 --- [main] o.s.web.client.RestTemplate : POST https://auth.example.com/{tokenpath} 200 in {duration}"),
    ("systemd", "systemd[1]: Started {unit} - Getty on tty1."),
    ("systemd", "Created symlink /etc/systemd/system/getty.target.wants/{unit} \u2192 /lib/systemd/system/getty@.service."),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  WARN 4242 --- [mail-1] c.e.mail.Sender : delivery to {idnemail} failed: 550"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  WARN 4242 --- [mail-1] c.e.mail.Sender : bounce from {quotedemail}, retry 3"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  INFO 4242 --- [http-2] c.e.signup.Controller : signup for {zwemail} accepted"),
    ("java", "2026-11-25 10:{mm}:{ss}.{n}  WARN 4242 --- [pay-1] c.e.pay.Gateway : card {unicard} declined (51)"),
    ("systemd", "systemd-sleep[{n}]: wake time set {duration}"),
    # Kubernetes events
    ("k8s", "Successfully assigned default/{pod} to {iphost}"),
    ("k8s", "Liveness probe failed: Get \"http://{priv}:8080/healthz\": dial tcp {priv}:8080: connect: connection refused"),
    ("k8s", "MountVolume.SetUp failed for volume \"kube-api-access-{d}x\" : object \"default\"/\"kube-root-ca.crt\" not registered; pod {pod} uid {uuid}"),
    ("k8s", "Back-off restarting failed container app in pod {pod}_default({uuid})"),
    # cloud audit logs (structured)
    ("cloudtrail", '{{"eventName": "ConsoleLogin", "userIdentity": {{"type": "IAMUser", "userName": "{user}", "arn": "arn:aws:iam::123456789012:user/{user}"}}, "sourceIPAddress": "{ip}", "userAgent": "aws-cli/2.13.0 Python/3.11.4", "requestID": "{uuid}"}}'),
    ("gcp-audit", '{{"protoPayload": {{"authenticationInfo": {{"principalEmail": "{email}"}}, "requestMetadata": {{"callerIp": "{ip}"}}, "methodName": "v1.compute.instances.insert", "resourceName": "projects/p/zones/us-central1-a/instances/{pod}"}}}}'),
    # keys that hold personal data (a logfmt sniff gone wrong, a JSON log keyed by user or address)
    ("keys", '{{"{keyip}": true, "{keyemail}": "v"}}'),
    ("keys", '{{"logins_by_user": {{"{keyemail}": {d}}}, "clients": {{"{keyip}": {{"count": {d}}}}}}}'),
]

_SLOT = re.compile(r"\{([a-z]+)\}")
_PLAIN = {"n": lambda r: str(r.randint(100, 99999)), "d": lambda r: str(r.randint(0, 9)), "uid": lambda r: str(r.randint(1000, 60000)),
          "mm": lambda r: f"{r.randint(0, 59):02d}", "ss": lambda r: f"{r.randint(0, 59):02d}"}


def _fill(rng: random.Random, template: str) -> tuple[str, list[tuple[str, str, bool]]]:
    checks: list[tuple[str, str, bool]] = []
    chosen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        slot = m.group(1)
        if slot in _PLAIN:
            return _PLAIN[slot](rng)
        gen, label, positive = SLOTS[slot]
        if slot in chosen and slot == "user":  # one user per line: logname=, ruser= and user= name the same person
            return chosen[slot]
        made = gen(rng)
        value, checked = made if isinstance(made, tuple) else (made, made)
        chosen[slot] = value
        checks.append((label, checked, positive))
        return value

    out = _SLOT.sub(lambda m: sub(m) if m.group(0) != "{{" else m.group(0), template)
    return out, checks


def items(per_template: int, seed: int = 16) -> Iterator[LogItem]:
    """``per_template`` records for every template, as envelopes (the line as ``body``, or the
    JSON object as ``attrs``)."""
    rng = random.Random(seed)
    for program, template in TEMPLATES:
        for _ in range(per_template):
            text, checks = _fill(rng, template)
            rec: dict = {"ts": "2026-11-25T10:00:00Z", "lane": "event", "source": f"web-{rng.randint(1, 12)}",
                         "name": f"{program}.log", "severity": "info"}
            if template.startswith("{{"):
                rec["attrs"] = orjson.loads(text.replace("{{", "{").replace("}}", "}"))
            else:
                rec["body"] = text.replace("{{", "{").replace("}}", "}")
            yield LogItem(program, rec, checks)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def survives(record: dict, value: str) -> bool:
    """Whether ``value`` is still in the record: in any key or string of it, or in its JSON text."""
    return any(value in s for s in _strings(record)) or value in orjson.dumps(record).decode()


def measure(corpus: list[LogItem], scrub: Callable[[dict], dict]) -> dict[str, tuple[int, int, bool]]:
    """label -> (failures, total, positive): leaks for positives, damaged values for negatives."""
    out: dict[str, list] = {}
    for it in corpus:
        after = scrub(it.record)
        for label, value, positive in it.checks:
            failed = survives(after, value) if positive else not survives(after, value)
            row = out.setdefault(label, [0, 0, positive])
            row[0] += failed
            row[1] += 1
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def failures(corpus: list[LogItem], scrub: Callable[[dict], dict], label: str, limit: int = 5) -> list[str]:
    """A few failing lines of one label, scrubbed, for an assertion message."""
    shown = []
    for it in corpus:
        after = scrub(it.record)
        for lab, value, positive in it.checks:
            if lab == label and (survives(after, value) if positive else not survives(after, value)):
                shown.append(f"{value!r} in {orjson.dumps(after.get('body', after.get('attrs'))).decode()}")
                break
        if len(shown) >= limit:
            break
    return shown
