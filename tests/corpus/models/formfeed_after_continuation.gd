model y = m*x + \
 b
loss mean((y - Y)^2)
