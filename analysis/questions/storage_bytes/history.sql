-- How many bytes does history keep for order X? Its rows as JSON, summed over the order's and its invoice's events.
SELECT regexp_extract(workflow_id, '^(?:order|invoice)-(.+)$', 1) AS order_id,
       sum(strlen(CAST(to_json(h) AS VARCHAR))) AS bytes
FROM history_events h
WHERE regexp_matches(workflow_id, '^(order|invoice)-')
GROUP BY 1;
