-- The schema the worker writes into and the api reads from. Idempotent: the migrate service runs it
-- at every `berth up`.
CREATE TABLE IF NOT EXISTS readings (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts     timestamptz NOT NULL DEFAULT now(),
    sensor text NOT NULL,
    value  double precision NOT NULL,
    label  text NOT NULL -- what the worker's detector made of the value: normal, warning, anomaly
);
CREATE INDEX IF NOT EXISTS readings_sensor_ts ON readings (sensor, ts DESC);
