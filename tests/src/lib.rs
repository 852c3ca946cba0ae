//! Check rules that span the workspace, and drive the `suyuan` binary end to end.
//!
//! The tests live in `tests/tests/`; this library holds what they share: the path of the built
//! `suyuan` binary and of the workspace, a blocking HTTP/1.1 client small enough to read in one
//! sitting ([`http_get`], [`http_post_from`]), [`Testnet`], a local testnet run through the
//! `testnet/*.sh` scripts exactly as an operator runs it, torn down when it is dropped, and
//! [`imports`], which reads the module imports of a crate for the architecture rules.

pub mod imports;

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the workspace root")
        .to_path_buf()
}

/// The `suyuan` binary built in the same profile and target directory as these tests.
///
/// Cargo builds a workspace's binaries before running any integration test of the workspace
/// (`cargo test --workspace`), next to the `deps` directory the test runs from.
pub fn suyuan_binary() -> PathBuf {
    let test_exe = std::env::current_exe().expect("a running test knows its own path");
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries sit in <target>/<profile>/deps");
    let binary = profile_dir.join("suyuan");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so the binary is built",
        binary.display()
    );
    binary
}

/// The `suyuan-byzantine` test binary (tools/byzantine), built beside [`suyuan_binary`].
pub fn byzantine_binary() -> PathBuf {
    let binary = suyuan_binary().with_file_name("suyuan-byzantine");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so the binary is built",
        binary.display()
    );
    binary
}

/// Largest HTTP response [`http_get`] reads: the API's pages are bounded well below it.
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A response read by [`http_get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The body, with any chunked transfer encoding removed.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// GETs `path` from the server at `base_url` (`http://host:port`) with HTTP/1.1 and
/// `Connection: close`; `timeout` bounds the connect and each read and write.
pub fn http_get(base_url: &str, path: &str, timeout: Duration) -> io::Result<HttpResponse> {
    let authority = base_url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("{base_url} is not an http:// URL")))?
        .trim_end_matches('/');
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid(format!("{authority} resolves to no address")))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a server may answer and close as soon as it has read the request line.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    read_response(stream)
}

/// POSTs `body` (JSON) to `path` on the server at `base_url` (`http://host:port`) from the
/// local address `from` (any 127.x.y.z on loopback, so that one test can be many clients), with
/// HTTP/1.1 and `Connection: close`; `timeout` bounds the connect and each read and write.
pub fn http_post_from(
    base_url: &str,
    path: &str,
    body: &[u8],
    from: IpAddr,
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let authority = base_url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("{base_url} is not an http:// URL")))?
        .trim_end_matches('/');
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid(format!("{authority} resolves to no address")))?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        None,
    )?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&address.into(), timeout)?;
    let mut stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request)?;
    read_response(stream)
}

/// Reads a whole response, at most [`MAX_HTTP_RESPONSE_BYTES`], until the server closes.
fn read_response(stream: TcpStream) -> io::Result<HttpResponse> {
    let mut raw = Vec::new();
    stream
        .take(MAX_HTTP_RESPONSE_BYTES + 1)
        .read_to_end(&mut raw)?;
    if raw.len() as u64 > MAX_HTTP_RESPONSE_BYTES {
        return Err(invalid(format!(
            "the response is over {MAX_HTTP_RESPONSE_BYTES} bytes"
        )));
    }
    parse_response(&raw)
}

/// Splits a whole HTTP/1.1 response into its status and body.
fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("the response has no end of headers".into()))?;
    let head = std::str::from_utf8(&raw[..split])
        .map_err(|_| invalid("the response headers are not UTF-8".into()))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let chunked = lines.any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(HttpResponse { status, body })
}

/// Removes chunked transfer encoding.
fn dechunk(mut rest: &[u8]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or_else(|| invalid("a chunk size line has no end".into()))?;
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap_or_default();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest
            .get(..size)
            .ok_or_else(|| invalid("a chunk is cut short".into()))?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Lowest port [`Testnet::init`] picks; below the usual ephemeral range (32768 and up), so an
/// outgoing connection is never handed a port a node is about to listen on.
pub const FIRST_TESTNET_PORT: u16 = 10_000;

/// One past the highest port [`Testnet::init`] picks.
pub const END_TESTNET_PORTS: u16 = 32_000;

/// A local testnet of `suyuan run` processes on 127.0.0.1 with RocksDB under a temporary
/// directory, driven by the `testnet/*.sh` scripts an operator uses.
///
/// Dropping it SIGKILLs every node it started, even while a test panics; then, if the test
/// passed, deletes the directory, and if it failed, prints the end of each node's log and keeps
/// the directory for a look.
#[derive(Debug)]
pub struct Testnet {
    dir: PathBuf,
    chain_id: String,
    validators: usize,
    first_p2p_port: u16,
    first_api_port: u16,
}

impl Testnet {
    /// Runs `testnet/init.sh` for `validators` validators in a fresh directory named after
    /// `name` and this process, on ports free right now. `slot` (below 16) tells apart the
    /// testnets of one test process, so that they start from different ports.
    pub fn init(name: &str, validators: usize, slot: u16) -> Testnet {
        let dir = std::env::temp_dir().join(format!("suyuan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (first_p2p_port, first_api_port) = free_ports(validators, slot);
        let testnet = Testnet {
            dir,
            chain_id: format!("suyuan-{name}"),
            validators,
            first_p2p_port,
            first_api_port,
        };
        testnet.script(
            "init.sh",
            &[
                testnet.dir.to_str().expect("temporary paths are UTF-8"),
                &validators.to_string(),
                "--chain-id",
                &testnet.chain_id,
                "--p2p-port",
                &first_p2p_port.to_string(),
                "--api-port",
                &first_api_port.to_string(),
            ],
        );
        testnet
    }

    /// The testnet's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many validators it has.
    pub fn validators(&self) -> usize {
        self.validators
    }

    /// The chain id it was initialised with.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// A key file `init` wrote under `keys/`: `bureau` (a registrar and regulator) or
    /// `association` (a registrar).
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{name}.key"))
    }

    /// Validator `index`'s API, e.g. `http://127.0.0.1:18100`.
    pub fn api_url(&self, index: usize) -> String {
        format!(
            "http://127.0.0.1:{}",
            usize::from(self.first_api_port) + index
        )
    }

    /// Validator `index`'s p2p port.
    pub fn p2p_port(&self, index: usize) -> u16 {
        self.first_p2p_port + index as u16
    }

    /// `testnet/start.sh`: starts the validators named (all if `indexes` is empty) and waits
    /// for their APIs.
    pub fn start(&self, indexes: &[usize]) {
        self.script_on_nodes("start.sh", &[], indexes);
    }

    /// Starts validator `index` as `suyuan-byzantine`, misbehaving as the `BYZANTINE_*`
    /// variables in `misbehaviour` say (see tools/byzantine), through `testnet/start.sh`.
    pub fn start_byzantine(&self, index: usize, misbehaviour: &[(&str, &str)]) {
        let index = index.to_string();
        let mut command = self.script_command("start.sh", &[self.dir_arg(), &index]);
        command.env("SUYUAN_BIN", byzantine_binary());
        for (name, value) in misbehaviour {
            assert!(
                name.starts_with("BYZANTINE_"),
                "{name} is not a misbehaviour"
            );
            command.env(name, value);
        }
        let output = command.output().expect("running testnet/start.sh");
        assert!(
            output.status.success(),
            "starting validator {index} as suyuan-byzantine failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The pid of validator `index` if it runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        let pid = std::fs::read_to_string(self.dir.join(format!("validator-{index}/node.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// One series of validator `index`'s `/metrics`, named with its labels as the exposition
    /// writes them (`suyuan_peer_faults_total{validator="1"}`); 0 when absent, `None` when
    /// the node does not answer.
    pub fn metric(&self, index: usize, series: &str) -> Option<f64> {
        let response = http_get(&self.api_url(index), "/metrics", Duration::from_secs(10)).ok()?;
        Some(
            response
                .text()
                .lines()
                .filter(|line| !line.starts_with('#'))
                .find_map(|line| {
                    let (name, value) = line.rsplit_once(' ')?;
                    (name == series).then(|| value.parse().ok())?
                })
                .unwrap_or(0.0),
        )
    }

    /// Validator `index`'s resident memory, in bytes, from `/proc`.
    pub fn resident_bytes(&self, index: usize) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid(index)?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// `testnet/stop.sh`: SIGTERM, and waits until they have exited.
    pub fn stop(&self, indexes: &[usize]) {
        self.script_on_nodes("stop.sh", &[], indexes);
    }

    /// `testnet/stop.sh --kill`: SIGKILL, and waits until they are gone.
    pub fn kill(&self, indexes: &[usize]) {
        self.script_on_nodes("stop.sh", &["--kill"], indexes);
    }

    /// `testnet/restart.sh`: stops (SIGTERM) and starts again the validators named.
    pub fn restart(&self, indexes: &[usize]) {
        assert!(!indexes.is_empty(), "name the validators to restart");
        self.script_on_nodes("restart.sh", &[], indexes);
    }

    /// `testnet/status.sh`'s table, whatever its exit status.
    pub fn status_table(&self) -> String {
        let output = self.run_script("status.sh", &[self.dir_arg()]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Validator `index`'s log file.
    pub fn log_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("validator-{index}/node.log"))
    }

    /// The last `lines` lines of every node's log, headed by the log's path.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut text = String::new();
        for index in 0..self.validators {
            let path = self.log_path(index);
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            let all: Vec<&str> = log.lines().collect();
            let _ = writeln!(text, "--- {} (last {lines} lines) ---", path.display());
            for line in &all[all.len().saturating_sub(lines)..] {
                let _ = writeln!(text, "{line}");
            }
        }
        text
    }

    fn dir_arg(&self) -> &str {
        self.dir.to_str().expect("temporary paths are UTF-8")
    }

    fn script_on_nodes(&self, script: &str, options: &[&str], indexes: &[usize]) {
        let indexes: Vec<String> = indexes.iter().map(ToString::to_string).collect();
        let mut args = vec![self.dir_arg()];
        args.extend_from_slice(options);
        args.extend(indexes.iter().map(String::as_str));
        self.script(script, &args);
    }

    /// Runs `testnet/<script>`; panics with its output if it fails.
    fn script(&self, script: &str, args: &[&str]) {
        let output = self.run_script(script, args);
        assert!(
            output.status.success(),
            "testnet/{script} {} failed ({}):\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs `testnet/<script> args…` with this build's binary and generous timeouts, and
    /// returns what it did, for tests of the scripts' refusals.
    pub fn run_script(&self, script: &str, args: &[&str]) -> Output {
        self.script_command(script, args)
            .output()
            .unwrap_or_else(|e| panic!("running testnet/{script}: {e}"))
    }

    /// `testnet/<script> args…` with this build's binary and generous timeouts, to run.
    fn script_command(&self, script: &str, args: &[&str]) -> Command {
        let mut command = Command::new(workspace_root().join("testnet").join(script));
        command
            .args(args)
            .env("SUYUAN_BIN", suyuan_binary())
            .env("SUYUAN_TESTNET_START_TIMEOUT", "90")
            .env("SUYUAN_TESTNET_STOP_TIMEOUT", "60");
        command
    }

    /// SIGKILLs every node whose pid file names a live process running this testnet's
    /// configuration; what `Drop` does, without going through the scripts, so that it works
    /// even when they are what failed.
    fn kill_all_nodes(&self) {
        for index in 0..self.validators {
            let node_dir = self.dir.join(format!("validator-{index}"));
            let Ok(pid) = std::fs::read_to_string(node_dir.join("node.pid")) else {
                continue;
            };
            let pid = pid.trim();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let config = node_dir.join("config.toml");
            let config = config.to_string_lossy();
            if String::from_utf8_lossy(&cmdline).contains(config.as_ref()) {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.kill_all_nodes();
        if std::thread::panicking() {
            eprintln!(
                "testnet kept in {} for a look; the nodes' logs end with:\n{}",
                self.dir.display(),
                self.log_tails(40)
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// First p2p and first API port of a testnet: `2 × validators` ports below
/// [`END_TESTNET_PORTS`] that can be bound now, starting from a block derived from the process
/// id and `slot` so that concurrent test processes and testnets rarely meet.
pub fn free_ports(validators: usize, slot: u16) -> (u16, u16) {
    let span = 2 * validators as u32;
    let blocks = u32::from(END_TESTNET_PORTS - FIRST_TESTNET_PORT) / span;
    let seed = std::process::id().wrapping_mul(16) + u32::from(slot);
    for attempt in 0..blocks {
        let block = (seed + attempt * 7) % blocks;
        let first = u32::from(FIRST_TESTNET_PORT) + block * span;
        let ports = first..first + span;
        let all_free = ports
            .clone()
            .all(|port| TcpListener::bind(("127.0.0.1", port as u16)).is_ok());
        if all_free {
            let first = first as u16;
            return (first, first + validators as u16);
        }
    }
    panic!(
        "no {span} free ports on 127.0.0.1 between {FIRST_TESTNET_PORT} and {END_TESTNET_PORTS}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_with_and_without_chunking() {
        let plain =
            parse_response(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.text().as_str()), (404, "{}"));
        let chunked = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (chunked.status, chunked.text().as_str()),
            (200, "{\"a\":1}")
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"nonsense\r\n\r\n").is_err());
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{}";
        assert!(parse_response(cut).is_err());
    }

    #[test]
    fn http_get_reads_a_real_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Read the whole request head before answering.
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "the client closed before its request ended");
                request.extend_from_slice(&buffer[..read]);
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            request
        });
        let response = http_get(
            &format!("http://{address}"),
            "/healthz",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!((response.status, response.text().as_str()), (200, "ok"));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /healthz HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(http_get("https://x", "/", Duration::from_secs(1)).is_err());
    }
}
