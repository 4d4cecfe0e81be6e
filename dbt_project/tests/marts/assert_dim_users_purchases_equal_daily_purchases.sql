-- dim_users' purchase totals (from fct_transactions) equal those of int_customer_daily_purchases (from the
-- staging view) for every user of the application database.
with

users as (
    select * from {{ ref('dim_users') }}
),

daily_purchases as (
    select * from {{ ref('int_customer_daily_purchases') }}
),

purchases as (
    select
        user_id,
        count(*) as purchase_day_count,
        sum(transaction_count) as transaction_count,
        sum(daily_spend_usd) as lifetime_spend_usd,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date
    from daily_purchases
    group by user_id
),

compared as (
    select
        users.user_id,
        users.purchase_day_count,
        users.transaction_count,
        users.lifetime_spend_usd,
        users.first_purchase_date,
        users.last_purchase_date,
        coalesce(purchases.purchase_day_count, 0) as expected_purchase_day_count,
        coalesce(purchases.transaction_count, 0) as expected_transaction_count,
        coalesce(purchases.lifetime_spend_usd, 0) as expected_lifetime_spend_usd,
        purchases.first_purchase_date as expected_first_purchase_date,
        purchases.last_purchase_date as expected_last_purchase_date
    from users
    left join purchases
        on users.user_id = purchases.user_id
)

select * from compared
where
    purchase_day_count != expected_purchase_day_count
    or transaction_count != expected_transaction_count
    or lifetime_spend_usd != expected_lifetime_spend_usd
    or first_purchase_date is distinct from expected_first_purchase_date
    or last_purchase_date is distinct from expected_last_purchase_date
