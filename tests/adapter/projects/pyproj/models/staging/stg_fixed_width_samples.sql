-- the fixed-width columns of the samples: Python models read these through binary COPY
select
    sample_id,
    big,
    small,
    ratio,
    amount,
    cast(amount / 7 as numeric(18, 6)) as amount_share,
    flag,
    day,
    happened_at,
    local_at
from {{ source('raw_app', 'type_samples') }}
