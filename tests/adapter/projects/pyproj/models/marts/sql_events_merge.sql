{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='merge') }}

-- a SQL incremental model: the adapter's materializations keep dbt-postgres' SQL behaviour
select
    event_id,
    user_id,
    amount,
    updated_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
    where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
