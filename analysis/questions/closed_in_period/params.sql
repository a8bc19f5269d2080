-- The period an operator asks about: the hour after the first order started (the run is its own "last hour").
SELECT min(started_at) AS since, min(started_at) + INTERVAL 1 HOUR AS until FROM ground_truth;
