-- Revenue in the marts equals the revenue of the valid raw transactions (one row per transaction_id in
-- raw, quarantined rows excluded by construction), in amount and in transaction count.
with

raw_transactions as (
    select
        count(distinct transaction_id) as transaction_count,
        sum(total_cost) as revenue_usd
    from {{ relation_or_empty(source('transactions', 'transactions')) }}
),

fact_transactions as (
    select
        count(*) as transaction_count,
        sum(total_cost_usd) as revenue_usd
    from {{ ref('fct_transactions') }}
),

daily_revenue as (
    select
        sum(transaction_count) as transaction_count,
        sum(revenue_usd) as revenue_usd
    from {{ ref('fct_daily_revenue_by_country') }}
),

compared as (
    select
        raw_transactions.transaction_count as raw_transaction_count,
        raw_transactions.revenue_usd as raw_revenue_usd,
        fact_transactions.transaction_count as fact_transaction_count,
        fact_transactions.revenue_usd as fact_revenue_usd,
        daily_revenue.transaction_count as daily_transaction_count,
        daily_revenue.revenue_usd as daily_revenue_usd
    from raw_transactions
    cross join fact_transactions
    cross join daily_revenue
)

select * from compared
where
    raw_transaction_count != fact_transaction_count
    or raw_transaction_count != daily_transaction_count
    or raw_revenue_usd is distinct from fact_revenue_usd
    or raw_revenue_usd is distinct from daily_revenue_usd
