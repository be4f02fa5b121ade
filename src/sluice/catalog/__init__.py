"""The resource catalog (政务信息资源目录) and the data standards (数据元) it is described against."""
