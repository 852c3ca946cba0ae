//! The yardstick against a real PostgreSQL server: a throwaway cluster, a few envelopes (good
//! ones, a badly signed one, one sent twice in a batch, one sent again later), and what the
//! database then holds.
//!
//! Needs PostgreSQL's server programs (Debian's `postgresql`; `SUYUAN_PG_BIN` names their
//! directory if they are elsewhere) and, when run as root, the `postgres` user to run the
//! server as. Without them the test says on stderr that it skipped, and passes.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use suyuan_client::ApiClient;
use suyuan_ledger::exec::{ExecError, RuleError};
use suyuan_ledger::submit::SubmitError;
use suyuan_ledger::tx::{Envelope, Payload, TxError, TxId};
use suyuan_pg_baseline::load::commissioning_load;
use suyuan_pg_baseline::rows::TxRows;
use suyuan_pg_baseline::schema::{CODE_RECORDS, ENTERPRISE_RECORDS};
use suyuan_pg_baseline::service::{self, Service};
use suyuan_pg_baseline::store::{Store, StoreConfig};
use suyuan_pg_baseline::yardstick_binding;
use tokio_postgres::NoTls;

#[test]
fn postgres_stores_good_envelopes_and_refuses_bad_signatures_duplicates_and_replays() {
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(Skip(reason)) => {
            // Straight to stderr, past the test harness's capture, so that a skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED postgres_stores_good_envelopes_and_refuses_bad_signatures_duplicates_and_replays: {reason}"
            );
            return;
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(check(&cluster.connection_string()));
}

async fn check(postgres: &str) {
    let config = StoreConfig {
        postgres: postgres.to_owned(),
        connections: 2,
    };
    let (store, committer) = Store::open(&config).await.expect("the store opens");
    let committing = tokio::spawn(committer.run());
    let chain = yardstick_binding("postgres-test");
    let service = Arc::new(Service::new(chain.clone(), store, 2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving =
        tokio::spawn(axum::serve(listener, service::router(Arc::clone(&service))).into_future());

    let load = commissioning_load(&chain, 2, 6);
    let [e0, e1, e2, e3, e4, e5] = <[Envelope; 6]>::try_from(load.envelopes.clone()).unwrap();
    let ids = &load.ids;
    let mut forged = e5;
    forged.signature = e4.signature;

    // Through the service's own interface, for the typed verdicts.
    let verdicts = service
        .submit(vec![e0.clone(), e1, forged.clone(), e2.clone(), e0.clone()])
        .await;
    assert_eq!(verdicts[0], Ok(ids[0]));
    assert_eq!(verdicts[1], Ok(ids[1]));
    assert!(
        matches!(
            &verdicts[2],
            Err(SubmitError::Envelope(TxError::BadSignature { signer })) if *signer == forged.signer
        ),
        "{:?}",
        verdicts[2]
    );
    assert_eq!(verdicts[3], Ok(ids[2]));
    assert_eq!(verdicts[4], Err(SubmitError::Duplicate(ids[0])));

    // Over HTTP, as the driver sends: a replay of a stored one beside a new one (the commit's
    // copy fails on the replay, and the commit is made again without it).
    let client = ApiClient::new(&url).unwrap();
    let answers = client.submit_batch(&[e0, e3.clone()]).await.unwrap();
    let replay = answers[0]
        .as_ref()
        .expect_err("a stored transaction is refused");
    assert_eq!(replay.code, "replay", "{replay}");
    assert_eq!(answers[1], Ok(ids[3]));
    let typed = service.submit(vec![e3]).await;
    assert!(
        matches!(&typed[0], Err(SubmitError::Rule(ExecError::Rule(rule))) if matches!(**rule, RuleError::Replay { id } if id == ids[3])),
        "{typed:?}"
    );

    serving.abort();
    drop(service);
    let _ = serving.await;
    committing
        .await
        .unwrap()
        .expect("the committer ends cleanly once the service is gone");

    check_rows(postgres, &chain, &load.envelopes[..4], &forged).await;
}

/// The database holds exactly `stored`, in order, with their index rows, and nothing of
/// `forged`.
async fn check_rows(
    postgres: &str,
    chain: &suyuan_ledger::tx::ChainBinding,
    stored: &[Envelope],
    forged: &Envelope,
) {
    let client = connect(postgres).await;
    let rows = client
        .query("SELECT id, envelope FROM transactions ORDER BY seq", &[])
        .await
        .unwrap();
    let found: Vec<(Vec<u8>, Vec<u8>)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = stored
        .iter()
        .map(|envelope| (envelope.id(chain).as_bytes().to_vec(), envelope.to_bytes()))
        .collect();
    assert_eq!(found, expected);
    let forged_id: TxId = forged.id(chain);
    let none: i64 = client
        .query_one(
            "SELECT count(*) FROM transactions WHERE id = $1",
            &[&forged_id.as_bytes().as_slice()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, 0, "nothing is written for a bad signature");

    let index_rows = |table: &'static str| {
        let client = &client;
        async move {
            let row = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap();
            row.get::<_, i64>(0)
        }
    };
    assert_eq!(index_rows("code_records").await, 4);
    assert_eq!(index_rows("enterprise_records").await, 4);

    // The lookups answer from the index rows.
    let third = TxRows::of(&stored[2].clone().verify(chain).unwrap());
    let by_code = client
        .query(CODE_RECORDS, &[&third.codes[0]])
        .await
        .unwrap();
    assert_eq!(by_code.len(), 1);
    assert_eq!(by_code[0].get::<_, Vec<u8>>(1), stored[2].to_bytes());
    let by_enterprise = client
        .query(ENTERPRISE_RECORDS, &[&third.enterprises[0]])
        .await
        .unwrap();
    // Transactions 0 and 2 are the first signer's.
    let envelopes: Vec<Vec<u8>> = by_enterprise.iter().map(|row| row.get(1)).collect();
    assert_eq!(envelopes, vec![stored[0].to_bytes(), stored[2].to_bytes()]);
    let forged_code = Payload::parse(&forged.payload).unwrap().record.codes()[0].to_string();
    let none = client.query(CODE_RECORDS, &[&forged_code]).await.unwrap();
    assert!(none.is_empty(), "no index row for a bad signature");
}

async fn connect(postgres: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(postgres, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Why the test cannot run here.
struct Skip(String);

/// A PostgreSQL cluster in a temporary directory, stopped and deleted on drop.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// The user the server runs as, when this test runs as root.
    user: Option<String>,
}

impl Cluster {
    fn start() -> Result<Cluster, Skip> {
        let bin = postgres_bin().ok_or_else(|| {
            Skip(
                "no PostgreSQL server programs (initdb, pg_ctl) found; install Debian's \
                 postgresql or set SUYUAN_PG_BIN"
                    .into(),
            )
        })?;
        let root = std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0);
        let user = if root {
            if !succeeds(Command::new("id").arg("postgres")) {
                return Err(Skip(
                    "running as root, and there is no postgres user to run the server as".into(),
                ));
            }
            Some("postgres".to_owned())
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "suyuan-pg-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir(&dir).unwrap();
        // The server's user must reach its directory inside this one.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
        let cluster = Cluster { dir, bin, user };
        std::fs::create_dir(cluster.home()).unwrap();
        std::fs::set_permissions(cluster.home(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some(user) = &cluster.user {
            assert!(
                succeeds(Command::new("chown").arg(user).arg(cluster.home())),
                "chown {user} {}",
                cluster.home().display()
            );
        }
        cluster.init_and_start();
        Ok(cluster)
    }

    /// The server's own directory: data, socket and log.
    fn home(&self) -> PathBuf {
        self.dir.join("pg")
    }

    fn data(&self) -> PathBuf {
        self.home().join("data")
    }

    fn init_and_start(&self) {
        let data = self.data();
        let initdb = self.run(
            "initdb",
            &[
                "--pgdata",
                path_str(&data),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                // The cluster is thrown away: its creation need not be synced.
                "--no-sync",
            ],
        );
        assert!(initdb.status.success(), "initdb: {initdb:?}");
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        writeln!(
            conf,
            "listen_addresses = ''\nunix_socket_directories = '{}'\nfsync = on\nsynchronous_commit = on",
            self.home().display()
        )
        .unwrap();
        let log = self.home().join("server.log");
        let start = self.run(
            "pg_ctl",
            &[
                "start",
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "30",
            ],
        );
        assert!(
            start.status.success(),
            "pg_ctl start: {start:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn connection_string(&self) -> String {
        format!(
            "host={} user=postgres dbname=postgres",
            self.home().display()
        )
    }

    /// Runs the server program `name`, as the server's user.
    fn run(&self, name: &str, args: &[&str]) -> std::process::Output {
        let program = self.bin.join(name);
        let mut command = match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(&self.dir);
        command
            .output()
            .unwrap_or_else(|error| panic!("{name}: {error}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &["stop", "-D", path_str(&data), "-m", "immediate", "-w"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of initdb and pg_ctl: `SUYUAN_PG_BIN`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`, else where `initdb` is on `PATH`.
fn postgres_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SUYUAN_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|dir| dir.join("initdb").is_file());
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|output| output.status.success())
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
