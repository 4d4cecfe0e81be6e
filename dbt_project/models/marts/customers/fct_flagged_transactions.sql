-- Transactions flagged by transaction_anomaly_scores (|z| above the threshold after enough earlier
-- transactions of the user), with the user's current country (`ZZ` for users unknown to the application).
with

scores as (
    select * from {{ ref('transaction_anomaly_scores') }}
),

transactions as (
    select * from {{ ref('fct_transactions') }}
),

flagged as (
    select
        -- ids
        scores.transaction_id::text as transaction_id,
        scores.user_id,

        -- strings
        coalesce(transactions.country_code, 'ZZ')::text as country_code,

        -- numerics
        scores.total_cost_usd::numeric(12, 2) as total_cost_usd,
        scores.ewma_mean_before,
        scores.ewma_std_before,
        scores.z_score,
        scores.prior_transaction_count,

        -- booleans
        transactions.is_orphan,

        -- dates
        scores.transaction_date

    from scores
    inner join transactions
        on scores.transaction_id = transactions.transaction_id
    where scores.is_anomaly
)

select * from flagged
