-- What is order X's shipping address (after any accepted change)? The sentinel address the driver gave or changed to.
SELECT order_id, shipping_address AS address FROM ground_truth;
