-- Which card number did order X's customer pay with? The sentinel number the driver gave.
SELECT order_id, card_number FROM ground_truth;
