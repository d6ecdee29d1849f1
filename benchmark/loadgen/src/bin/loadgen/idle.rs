//! Idle mode: connections that stay open, doing nothing but answering pings, while
//! the runner measures the server's memory; they are dropped when stdin closes.

use loadgen::client::Client;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

async fn stay_open<S: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<S>) -> Result<(), String> {
    loop {
        client.read().await?;
        client.drain(|_, _| Ok(()))?;
        client.flush().await?;
    }
}

/// Keeps `clients` open until standard input reaches its end (or fails).
pub async fn hold<S>(clients: Vec<Client<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    for mut client in clients {
        // A connection the server drops is simply gone; the count was already printed.
        tokio::task::spawn_local(async move {
            let _ = stay_open(&mut client).await;
        });
    }
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 256];
    while let Ok(n) = stdin.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}
