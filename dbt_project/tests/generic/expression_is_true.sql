{#
    Fails for every row where `expression` is not true (false or null). Model-level, or column-level
    with the column name prepended to the expression (`expression: ">= 0"`).
#}
{% test expression_is_true(model, expression, column_name=none) %}
    {%- set condition = expression if column_name is none else column_name ~ ' ' ~ expression %}

    select *
    from {{ model }}
    where not coalesce(({{ condition }}), false)

{% endtest %}
