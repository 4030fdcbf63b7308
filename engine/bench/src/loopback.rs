//! `slate serve`'s router on a loopback port, on a thread of its own, for
//! the benchmarks that measure the API over real HTTP.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use anyhow::anyhow;

/// A server running until [`Loopback::stop`].
pub struct Loopback {
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<anyhow::Result<()>>,
}

/// Serves `server` on any free loopback port.
pub fn serve(server: slate_server::Server) -> anyhow::Result<Loopback> {
    let router = slate_server::router(server);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            slate_server::serve(listener, router, async {
                let _ = stopped.await;
            })
            .await?;
            anyhow::Ok(())
        })
    });
    Ok(Loopback { address, stop, thread })
}

impl Loopback {
    /// Stops the server and waits for its thread.
    pub fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.thread.join().map_err(|_| anyhow!("the server thread panicked"))?
    }
}
