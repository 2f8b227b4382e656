import os

from klue.swagger import ApiPool

SPECS = os.path.join(os.path.dirname(__file__), "..", "specs")


def inventory():
    """The inventory's client, registered once: by the first call, or beforehand by a test or an app."""
    if "inventory" not in ApiPool:
        ApiPool.add("inventory", yaml_path=os.path.join(SPECS, "inventory.yaml"),
                    host=os.environ.get("INVENTORY_URL", "http://127.0.0.1:8081"))
    return ApiPool.inventory


def can_buy(item, quantity):
    stock = inventory().client.get_stock(item=item).call()
    return {"item": item, "ok": stock["count"] >= quantity}
