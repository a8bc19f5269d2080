-- How large are payloads and histories, against the limits (51,200 events or 50 MB a history; payloads warn at
-- 256 KB)? Per run: its events and the bytes of its stored event attributes (payloads included, as stored here).
SELECT w.workflow_type, h.run_id, 'size' AS subject,
       count(*) AS value,
       sum(strlen(CAST(h.attributes AS VARCHAR))) AS detail,
       max(strlen(CAST(h.attributes AS VARCHAR))) AS largest_event_bytes
FROM history_events h
LEFT JOIN workflows w ON w.namespace = h.namespace AND w.workflow_id = h.workflow_id AND w.run_id = h.run_id
GROUP BY ALL;
