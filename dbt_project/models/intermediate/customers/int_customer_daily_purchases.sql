-- One row per customer and purchase day: same-day transactions are one purchase (the unit of the
-- customer-lifetime-value models). From transactions alone, so customers unknown to the app count too.
with

transactions as (
    select * from {{ ref('stg_transactions__transactions') }}
),

daily as (
    select
        -- ids
        user_id,

        -- numerics
        count(*) as transaction_count,
        sum(total_cost_usd) as daily_spend_usd,

        -- dates
        transaction_date as purchase_date

    from transactions
    group by user_id, transaction_date
)

select * from daily
