#!/usr/bin/env python3
"""worker: the edge box's processing script, simulated.

Every INTERVAL seconds (default 1) it reads three simulated sensors, runs a small detector over each
value (a running mean and standard deviation per sensor: a value more than 2 or 3 deviations away is a
"warning" or an "anomaly") and writes the batch into the readings table in one transaction, logging a
line per batch. When the database goes away (restarted, stopped) it says so, retries with a backoff of
0.5 s doubling up to 5 s, and carries on once it is back; it skips the readings of the seconds in
between (it is a simulation). SIGTERM and SIGINT stop it at once.

The connection comes from libpq's variables: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
"""

import math
import os
import random
import signal
import time

import psycopg2

# sensor: (typical value, noise)
SENSORS = {
    "intake-temp": (21.0, 0.4),
    "pump-vibration": (3.0, 0.3),
    "line-pressure": (101.3, 0.8),
}
INSERT = "INSERT INTO readings (sensor, value, label) VALUES (%s, %s, %s)"


class Stop(Exception):
    """Raised by the signal handler: SIGTERM or SIGINT asked the worker to stop."""


def on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Detector:
    """Labels a sensor's values by how far they are from its running mean (Welford's algorithm)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def label(self, x):
        verdict = "normal"
        if self.n >= 10:
            sd = math.sqrt(self.m2 / (self.n - 1))
            z = abs(x - self.mean) / sd if sd > 0 else 0.0
            verdict = "anomaly" if z > 3 else "warning" if z > 2 else "normal"
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)
        return verdict


def read(sensor):
    typical, noise = SENSORS[sensor]
    value = random.gauss(typical, noise)
    if random.random() < 0.02:  # now and then, something happens
        value += random.choice((-1, 1)) * 6 * noise
    return round(value, 2)


def connect():
    conn = psycopg2.connect(connect_timeout=3, application_name="worker")
    log(f"connected to {conn.info.user}@{conn.info.host}/{conn.info.dbname}")
    return conn


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    interval = float(os.environ.get("INTERVAL", "1"))
    detectors = {s: Detector() for s in SENSORS}
    conn, backoff, batch = None, 0.5, 0
    log(f"starting: {len(SENSORS)} sensors every {interval:g} s")
    try:
        while True:
            if conn is None:
                try:
                    conn = connect()
                    backoff = 0.5
                except psycopg2.OperationalError as e:
                    reason = str(e).strip().splitlines()[0]
                    log(f"database unavailable ({reason}); retrying in {backoff:g} s")
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5)
                    continue
            tick = time.monotonic()
            rows = []
            for sensor, det in detectors.items():
                value = read(sensor)
                rows.append((sensor, value, det.label(value)))
            try:
                with conn.cursor() as cur:
                    cur.executemany(INSERT, rows)
                conn.commit()  # the batch is one transaction
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                log(f"lost the database ({reason}); reconnecting")
                conn.close()
                conn = None
                continue
            batch += 1
            log(f"batch {batch}: " + ", ".join(f"{s}={v} {lbl}" for s, v, lbl in rows))
            time.sleep(max(0.0, tick + interval - time.monotonic()))
    except Stop as sig:
        log(f"{sig}: stopping after {batch} batches")
    finally:
        if conn is not None:
            conn.close()


if __name__ == "__main__":
    main()
