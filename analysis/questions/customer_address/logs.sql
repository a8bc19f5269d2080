-- What is order X's shipping address? The shipping service logs where each parcel goes ('order shipped'):
-- orders that never ship leave no address in the logs.
SELECT attributes->>'order_id' AS order_id, attributes->>'address' AS address
FROM logs
WHERE event = 'order shipped' AND attributes->>'address' IS NOT NULL;
