"""Shopify orders and storefront products: one batch run materializes today's partition."""

import dagster as dg

from beat.flows import FAMILIES
from beat.pipeline.shopify import ORDERS, PIPELINE, PRODUCTS
from beat_dagster.assets.batches import build_batch_assets

shopify_batch, shopify_batch_job = build_batch_assets(
    FAMILIES["shopify"],
    PIPELINE,
    {
        ORDERS: dg.AssetSpec(
            "shopify_orders",
            description="Shopify orders, no customer personal data (table shopify_order).",
            group_name="shopify",
            kinds={"sql"},
        ),
        PRODUCTS: dg.AssetSpec(
            "shopify_products",
            description="Shopify storefront products (table shopify_product).",
            group_name="shopify",
            kinds={"sql"},
        ),
    },
    lambda resource, session, credentials, hook, _objects: resource.shopify(
        session, credentials, hook
    ),
)
