//! Reconnecting clients: a [`Rejoin`] handle hands a new client connection to a running
//! driver, which takes it from its [`Rejoins`] end.

use tokio::sync::mpsc;

/// How many rejoining connections may wait for the driver at once
/// ([`super::InterviewDriver::rejoin`]).
pub const REJOIN_QUEUE: usize = 4;

/// Hands a new client connection to a running driver (with [`super::ClientLoss::AwaitRejoin`]).
#[derive(Debug)]
pub struct Rejoin<C> {
    tx: mpsc::Sender<Box<C>>,
}

impl<C> Clone for Rejoin<C> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<C> Rejoin<C> {
    /// Whether the driver has ended: a connection handed over now comes back.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Hands `client` to the driver, which attaches it when no client is attached and the
    /// interview has not ended (the session then sends it a `SessionResumed` once the
    /// interview is under way) and dismisses it otherwise ([`super::DriverHooks::dismiss`]).
    ///
    /// # Errors
    /// Gives the connection back when the driver has ended or [`REJOIN_QUEUE`] connections
    /// wait already.
    pub fn attach(&self, client: C) -> Result<(), C> {
        self.tx.try_send(Box::new(client)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => *c,
        })
    }
}

/// The driver's end of a [`Rejoin`] handle ([`super::InterviewDriver::with_rejoins`]).
#[derive(Debug)]
pub struct Rejoins<C> {
    pub(super) rx: mpsc::Receiver<Box<C>>,
}

/// A [`Rejoin`] handle and the end a driver takes ([`super::InterviewDriver::with_rejoins`]), for
/// a host that hands the handle out before the driver is made (a registry of live
/// interviews). [`REJOIN_QUEUE`] connections may wait at a time.
pub fn rejoin_channel<C>() -> (Rejoin<C>, Rejoins<C>) {
    let (tx, rx) = mpsc::channel(REJOIN_QUEUE);
    (Rejoin { tx }, Rejoins { rx })
}

pub(super) async fn next_rejoin<C>(rejoins: &mut Option<mpsc::Receiver<Box<C>>>) -> Option<Box<C>> {
    match rejoins {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
