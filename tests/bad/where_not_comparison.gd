# where needs a comparison as its condition
model y = where(x, a, b*x)
loss mean((y - Y)^2)
