from klue.swagger import ApiPool


def test_the_shop_asks_the_real_inventory_in_process(klue_client):
    klue_client("specs/inventory.yaml")  # its handlers answer the shop's calls, in process
    shop = klue_client("specs/shop.yaml")
    assert shop.get("/shop/can-buy/apple?quantity=2").get_json() == {"item": "apple", "ok": True}
    assert shop.get("/shop/can-buy/pear").get_json() == {"item": "pear", "ok": False}


def test_requests_are_validated(klue_client):
    shop = klue_client("specs/shop.yaml", mock="all")
    response = shop.get("/shop/can-buy/apple?quantity=0")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["name"] == "quantity"


def test_each_test_has_its_own_pool(klue_pool):
    assert "inventory" not in ApiPool and "shop" not in ApiPool
