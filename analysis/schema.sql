-- Tables the analysis writes. The source tables are the collectors' (collectors/schema.sql); ground truth is the
-- sample app's (sample_app/ground_truth.sql).

-- The answerability matrix: one row per question and source.
CREATE TABLE IF NOT EXISTS answerability (
    question_id  VARCHAR NOT NULL,
    question     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    verdict      VARCHAR NOT NULL,   -- 'answers', 'partial' or 'cannot'
    fraction     DOUBLE NOT NULL,    -- share of orders answered completely and correctly
    reason       VARCHAR NOT NULL,
    orders_right INTEGER NOT NULL,
    orders_total INTEGER NOT NULL,
    PRIMARY KEY (question_id, source)
);
