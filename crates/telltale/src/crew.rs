//! The shard threads of one capture, meeting to share what each found.
//!
//! A capture split across threads is finished on the threads that read
//! it: each shard needs a value only the whole crew knows (the capture's
//! last time, every shard's DNS answers), so the shards meet, each brings
//! its part, and each leaves with all of them. Done on the shard threads,
//! the work after a meeting runs in parallel on cores that are already
//! awake; handed to a thread pool once the shards were joined, it ran in
//! short parallel steps, each waiting for a sleeping thread to wake.

use std::any::Any;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The meeting point of a fixed number of shards: each calls
/// [`Crew::gather`] with its value, in the same order of meetings, and
/// holds a [`Member`] while it may still meet (see the tests below).
pub(crate) struct Crew {
    size: usize,
    state: Mutex<State>,
    met: Condvar,
}

struct State {
    /// Meetings held so far.
    round: u64,
    brought: Vec<Option<Box<dyn Any + Send>>>,
    arrived: usize,
    /// The last meeting's values, in shard order.
    shared: Option<Arc<dyn Any + Send + Sync>>,
    /// A shard stopped (it panicked) and will never come.
    broken: bool,
}

impl Crew {
    pub(crate) fn new(size: usize) -> Crew {
        Crew {
            size: size.max(1),
            state: Mutex::new(State {
                round: 0,
                brought: (0..size.max(1)).map(|_| None).collect(),
                arrived: 0,
                shared: None,
                broken: false,
            }),
            met: Condvar::new(),
        }
    }

    /// Held by a shard's thread for as long as it may still meet: a shard
    /// that panics breaks the crew on its way out, so the others stop
    /// waiting for it (their work is thrown away when the panic is passed
    /// on).
    pub(crate) fn member(&self) -> Member<'_> {
        Member(self)
    }

    /// Brings `value` from `shard` and waits for every shard's; `None` when
    /// the crew broke. Every shard must call it the same number of times.
    pub(crate) fn gather<V: Send + Sync + 'static>(
        &self,
        shard: usize,
        value: V,
    ) -> Option<Arc<Vec<V>>> {
        let mut state = self.lock();
        if state.broken {
            return None;
        }
        let round = state.round;
        state.brought[shard] = Some(Box::new(value));
        state.arrived += 1;
        if state.arrived == self.size {
            let values: Vec<V> = state
                .brought
                .iter_mut()
                .map(|v| {
                    *v.take()
                        .expect("every shard brought a value")
                        .downcast::<V>()
                        .expect("every shard brings the same kind of value")
                })
                .collect();
            let values = Arc::new(values);
            state.shared = Some(values.clone());
            state.arrived = 0;
            state.round += 1;
            self.met.notify_all();
            return Some(values);
        }
        // The next meeting cannot end (and replace `shared`) before this
        // shard has come to it too, so what it reads on waking is this
        // meeting's.
        while state.round == round && !state.broken {
            state = self.met.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.round == round {
            return None;
        }
        let shared = state.shared.clone()?;
        drop(state);
        shared.downcast::<Vec<V>>().ok()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held leaves a state the `broken` flag
        // accounts for.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A shard's place in its [`Crew`] (see [`Crew::member`]).
pub(crate) struct Member<'a>(&'a Crew);

impl Drop for Member<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.lock();
            state.broken = true;
            self.0.met.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_leaves_with_every_value_in_shard_order() {
        let crew = Crew::new(3);
        let got: Vec<(Vec<u32>, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|shard| {
                    let crew = &crew;
                    s.spawn(move || {
                        let _here = crew.member();
                        // Arrive in reverse order of shard, and meet twice
                        // with values of different kinds.
                        std::thread::sleep(std::time::Duration::from_millis(
                            (3 - shard as u64) * 5,
                        ));
                        let a = crew.gather(shard, shard as u32 * 10).unwrap();
                        let b = crew.gather(shard, format!("s{shard}")).unwrap();
                        ((*a).clone(), (*b).clone())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (a, b) in got {
            assert_eq!(a, vec![0, 10, 20]);
            assert_eq!(b, vec!["s0", "s1", "s2"]);
        }
    }

    #[test]
    fn a_shard_that_panics_releases_the_others() {
        let crew = Arc::new(Crew::new(2));
        let (tx, rx) = std::sync::mpsc::channel();
        // Not scoped: were the waiting shard never released, the test must
        // fail at the timeout below, not hang joining it.
        let waiting = Arc::clone(&crew);
        std::thread::spawn(move || {
            let _here = waiting.member();
            let _ = tx.send(waiting.gather(0, 1u8));
        });
        let failing = Arc::clone(&crew);
        let failed = std::thread::spawn(move || {
            let _here = failing.member();
            std::thread::sleep(std::time::Duration::from_millis(20));
            panic!("shard 1 fails before the meeting");
        })
        .join();
        assert!(failed.is_err());
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the waiting shard is released");
        assert!(got.is_none(), "released, not served");
        // A crew once broken stays broken.
        assert!(crew.gather(0, 2u8).is_none());
    }

    #[test]
    fn a_crew_of_one_meets_at_once() {
        let crew = Crew::new(1);
        assert_eq!(*crew.gather(0, 7i64).unwrap(), vec![7]);
        assert_eq!(*crew.gather(0, 8i64).unwrap(), vec![8]);
    }
}
