//! Behavioural tests of the queue backends against real services: the shared suite runs on
//! embedded-on-SQLite, embedded-on-PostgreSQL and RabbitMQ; `embedded` and `amqp` add what
//! only one backend can show (lease expiry, broker-side connection loss).
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (trust auth) and RabbitMQ at 127.0.0.1:5672
//! (guest/guest); `rabbitmqctl` on the PATH for the reconnect test.

mod amqp;
mod embedded;
mod suite;
mod support;

/// One `#[tokio::test]` per shared behaviour, for one backend.
macro_rules! shared_suite {
    ($module:ident, $kind:expr) => {
        mod $module {
            use crate::support::{Kind, run};

            shared_suite!(@tests $kind;
                publish_consume_ack_delivers_once,
                retry_comes_back_after_delay,
                dead_letter_never_comes_back,
                dropped_delivery_comes_back,
                two_consumers_never_share,
                lanes_are_independent,
                depth_counts_waiting_messages,
                bad_input_is_refused,
                waiting_consumer_wakes_promptly,
            );
        }
    };
    (@tests $kind:expr; $($test:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let kind: Kind = $kind;
                run(kind, stringify!($test), crate::suite::$test).await;
            }
        )+
    };
}

shared_suite!(sqlite, Kind::Sqlite);
shared_suite!(postgres, Kind::Postgres);
shared_suite!(rabbitmq, Kind::Rabbitmq);
